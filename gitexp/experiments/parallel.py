"""``gitexp run -j N``: grid points in throwaway worktrees, N at a time.

Each point runs in its own worktree checked out from a snapshot of the workspace
(committed, uncommitted and untracked files), so runs cannot see each other's
overrides and the user's workspace is not touched at all. Files git ignores are not
copied into the worktrees.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import pygit2

from gitexp.errors import Interrupted
from gitexp.experiments.overrides import ParamsPlan
from gitexp.experiments.record import RunResult
from gitexp.experiments.runner import Place, Runner
from gitexp.git.snapshot import snapshot
from gitexp.git.worktrees import add_worktree, remove_worktree


def run_parallel(
    runner: Runner,
    points: Sequence[tuple[ParamsPlan, str]],
    jobs: int,
    cwd: Path,
    on_result: Callable[[RunResult], None],
) -> list[RunResult]:
    """Run every point, ``jobs`` at a time; results in the points' order.

    On Ctrl-C (or when ``runner.stop`` is set) every running command is stopped and
    recorded as interrupted, points not started are not run, the worktrees are
    removed and `Interrupted` is raised.
    """
    project = runner.project
    start = _workspace_commit(runner)
    relative = cwd.resolve().relative_to(project.root) if cwd.resolve() != project.root else Path()
    results: dict[int, RunResult] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending: dict[Future[RunResult], int] = {
            pool.submit(_one, runner, plan, name, start, relative): number
            for number, (plan, name) in enumerate(points)
        }
        try:
            while pending and not runner.stop.is_set():
                done, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for future in done:
                    number = pending.pop(future)
                    results[number] = future.result()
                    on_result(results[number])
        except (KeyboardInterrupt, Interrupted):
            runner.stop.set()
        if runner.stop.is_set():
            _finish_stopped(pending, results, on_result)
    stopped = [r.name for r in results.values() if r.status == "interrupted"]
    if stopped or len(results) < len(points):  # a stop after the last record is too late
        recorded = f"; recorded as interrupted: {', '.join(stopped)}" if stopped else ""
        raise Interrupted(f"interrupted; points not started were not run{recorded}")
    return [results[n] for n in sorted(results)]


def _finish_stopped(
    pending: dict[Future[RunResult], int],
    results: dict[int, RunResult],
    on_result: Callable[[RunResult], None],
) -> None:
    """Wait for the points still running (they record themselves as interrupted)."""
    for future in pending:
        future.cancel()
    for future, number in pending.items():
        if future.cancelled():
            continue
        with contextlib.suppress(Interrupted):
            results[number] = future.result()
            on_result(results[number])


def _workspace_commit(runner: Runner) -> pygit2.Commit:
    """The workspace as it is now, as a commit (on no ref) for the worktrees to check out."""
    git = runner.project.git
    snap = snapshot(git, runner.base.tree)
    oid = git.write_commit(
        snap.tree, [str(runner.base.id)], "gitexp: workspace for parallel runs\n"
    )
    return git.lookup_commit(oid)


def _one(
    runner: Runner, plan: ParamsPlan, name: str, start: pygit2.Commit, relative: Path
) -> RunResult:
    project = runner.project
    path = project.state / "worktrees" / f"{name}-{secrets.token_hex(3)}"
    if runner.stop.is_set():
        raise Interrupted("interrupted")
    worktree = add_worktree(project.git, path, str(start.id))
    try:
        place = Place(git=worktree, start=start.tree, cwd=worktree.root / relative, restore=False)
        return runner.run_point(plan, name, place, on_output=None)
    finally:
        remove_worktree(project.git, path)
