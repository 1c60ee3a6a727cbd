"""``gitexp run -j N``: grid points in throwaway worktrees, N at a time.

Each point runs in its own worktree checked out from a snapshot of the workspace
(committed, uncommitted and untracked files), so runs cannot see each other's
overrides and the user's workspace is not touched at all. Files git ignores are not
copied into the worktrees, but tracked data is: every pointer's data comes from the
cache (see `worktreedata`). The params files in the snapshot hold the user's bytes,
not the overrides of a run going on in the workspace (read from its journal), so
worktree runs need not wait for workspace runs.

A worktree whose gitexp process was killed is removed by the next command that calls
`crashed.remove_abandoned_worktrees` (``run`` and ``gc``); live ones are never touched.
This module is loaded only for ``-j`` runs.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import pygit2

from gitexp.core.hashing import hash_bytes
from gitexp.core.pointer import Pointer
from gitexp.data.pointers import pointers_at
from gitexp.errors import Interrupted
from gitexp.experiments.run.guard import journaled_originals
from gitexp.experiments.run.overrides import ParamsPlan
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Place, Runner
from gitexp.experiments.run.worktreedata import bring_data, check_data
from gitexp.git.snapshot import snapshot
from gitexp.git.worktrees import isolated_worktree
from gitexp.project import Project


def run_parallel(
    runner: Runner,
    points: Sequence[tuple[ParamsPlan, str]],
    jobs: int,
    cwd: Path,
    on_result: Callable[[RunResult], None],
    params: Mapping[str, bytes],
) -> list[RunResult]:
    """Run every point, ``jobs`` at a time; results in the points' order.

    ``params`` are the params files as the worktrees start with them (`users_params`).

    On Ctrl-C (or when ``runner.stop`` is set) every running command is stopped and
    recorded as interrupted, points not started are not run, the worktrees are
    removed and `Interrupted` is raised. An error in one point stops the others the
    same way and is raised. Raises `NotFoundError`, before any point runs, when the
    cache lacks tracked data.
    """
    project = runner.project
    start = _workspace_commit(runner, params)
    pointers = pointers_at(project.git, start.tree)
    check_data(project, pointers)
    relative = cwd.resolve().relative_to(project.root) if cwd.resolve() != project.root else Path()
    results: dict[int, RunResult] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending: dict[Future[RunResult], int] = {
            pool.submit(_one, runner, plan, name, start, relative, pointers): number
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
        except BaseException:
            _stop_all(runner.stop, pending)
            raise
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


def _worktrees(project: Project) -> Path:
    return project.layout.worktrees


def _stop_all(stop: threading.Event, pending: dict[Future[RunResult], int]) -> None:
    """Stop running points (they record themselves as interrupted); drop those not started."""
    stop.set()
    for future in pending:
        future.cancel()


def _workspace_commit(runner: Runner, params: Mapping[str, bytes]) -> pygit2.Commit:
    """The workspace as it is now, as a commit (on no ref) for the worktrees to check out."""
    git = runner.project.git
    snap = snapshot(git, runner.base.tree, extra=params)
    oid = git.write_commit(
        snap.tree, [str(runner.base.id)], "gitexp: workspace for parallel runs\n"
    )
    return git.lookup_commit(oid)


def users_params(project: Project) -> dict[str, bytes]:
    """The params files as the user has them, without a workspace run's overrides.

    A file holding bytes that a workspace run's journal says it wrote gets the
    original back; one the user edited meanwhile is taken as it is. The journals are
    read before and after the files, so a run that starts or ends meanwhile is seen.
    """
    runs, root = project.layout.runs, project.root
    before = journaled_originals(runs, root)
    current: dict[str, bytes] = {}
    for path in dict.fromkeys([*project.config.params, *before]):
        try:
            current[path] = (root / path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
    after = journaled_originals(runs, root)
    users: dict[str, bytes] = {}
    for path, data in current.items():
        originals = {**before.get(path, {}), **after.get(path, {})}
        users[path] = originals.get(str(hash_bytes(data)), data)
    return users


def _one(
    runner: Runner,
    plan: ParamsPlan,
    name: str,
    start: pygit2.Commit,
    relative: Path,
    pointers: dict[str, Pointer],
) -> RunResult:
    project = runner.project
    path = _worktrees(project) / f"{name}-{secrets.token_hex(3)}"
    if runner.stop.is_set():
        raise Interrupted("interrupted")
    with isolated_worktree(project.git, path, str(start.id)) as worktree:
        bring_data(project, worktree, pointers)
        if runner.stop.is_set():
            raise Interrupted("interrupted")
        place = Place(git=worktree, start=start.tree, cwd=worktree.root / relative, restore=False)
        return runner.run_point(plan, name, place, on_output=None)
