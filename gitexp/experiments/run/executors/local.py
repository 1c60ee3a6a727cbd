"""Running the queue here: worker threads take runs by compare-and-swap and run them in worktrees.

Taking a run: its lock file (``queue/<name>.lock``) first, then one ref transaction
that deletes ``refs/exps-queue/<name>`` at the commit it was seen at and creates
``refs/exps-claimed/<name>``; of any number of processes, one wins. A claim whose
lock is free was left by a ``queue start`` that was killed: the next one takes it,
and adopts the experiment if it was recorded already.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pygit2

from gitexp.cache.atomic import atomic_write
from gitexp.core.names import CLAIMED_REF_PREFIX, QUEUE_REF_PREFIX, ExperimentName
from gitexp.core.params import Override, format_value
from gitexp.core.runinfo import RUN_JSON, RunRecord, parse_run_json
from gitexp.data.pointers import pointers_at
from gitexp.errors import ConflictError, GitexpError, Interrupted
from gitexp.experiments.run.crashed import remove_abandoned_worktrees
from gitexp.experiments.run.overrides import ParamsPlan
from gitexp.experiments.run.process import parse_command
from gitexp.experiments.run.pruning import ENV_PRUNE
from gitexp.experiments.run.queue import QueuedRun, list_queue, queued_record
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Notify, Place, Runner
from gitexp.experiments.run.worktreedata import bring_data, check_data
from gitexp.git.refs import RefUpdate, delete_refs, read_ref, update_refs
from gitexp.git.repo import GitRepo
from gitexp.git.worktrees import isolated_worktree
from gitexp.project import Project


def start_local(
    project: Project,
    jobs: int,
    names: Sequence[str] | None = None,
    *,
    notify: Notify | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    stop: threading.Event | None = None,
) -> list[RunResult]:
    """Run queued runs, ``jobs`` at a time in worktrees, until the queue is empty.

    Runs queued meanwhile are run too; with ``names``, only those runs. Raises
    `Interrupted` after a stop, once the runs going on are recorded ``interrupted``;
    the runs not taken stay queued.
    """
    remove_abandoned_worktrees(project)
    stop = stop or threading.Event()
    results: list[RunResult] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            while not stop.is_set():
                with _next_claim(project, names) as claimed:
                    if claimed is None:
                        return
                    result = run_claimed(project, claimed, notify, stop)
                with lock:
                    results.append(result)
                if on_result is not None:
                    on_result(result)
        except BaseException:
            stop.set()  # one failure stops the others; the runs not taken stay queued
            raise

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(work) for _ in range(jobs)]
        errors = [e for e in (f.exception() for f in futures) if e is not None]
    if errors:
        stop.set()
        raise next((e for e in errors if not isinstance(e, Interrupted)), errors[0])
    if stop.is_set():
        raise Interrupted("interrupted; the runs not started stay queued (`gitexp queue list`)")
    return results


@dataclass(frozen=True)
class Claim:
    """A run this process took: its name and queued commit."""

    name: str
    commit: str


@contextlib.contextmanager
def taken(project: Project, run: QueuedRun) -> Iterator[bool]:
    """Take ``run`` for the block: True when this process holds it, False when another does.

    The run's lock file is taken before its refs move, and held until the block
    ends; a queued run is moved to the claimed refs by compare-and-swap, a stale
    claim (its lock free) is taken as it is. The claim ref is deleted at the end,
    or put back in the queue when the block raises `Interrupted` (nothing ran).
    """
    with run_lock(project, run.name) as held:
        if not held:
            yield False
            return
        if run.status == "queued" and not claim_queued(project, run):
            yield False
            return
        if read_ref(project.git, CLAIMED_REF_PREFIX + run.name) != run.commit:
            yield False
            return
        try:
            yield True
        except Interrupted:  # stopped before it began: nothing recorded, so back to the queue
            give_back(project, run.name, run.commit)
            raise
        finally:
            with contextlib.suppress(GitexpError):
                delete_refs(project.git, [(CLAIMED_REF_PREFIX + run.name, run.commit)])


@contextlib.contextmanager
def _next_claim(project: Project, names: Sequence[str] | None) -> Iterator[Claim | None]:
    """Take the oldest run nobody runs: a stale claim first, else a queued one."""
    for run in candidates(project):
        if names is not None and run.name not in names:
            continue
        with taken(project, run) as held:
            if held:
                yield Claim(run.name, run.commit)
                return
    yield None


def run_named(
    project: Project,
    name: str,
    notify: Notify | None,
    stop: threading.Event,
    owner: str | None = None,
) -> RunResult | None:
    """Take the queued run ``name`` and run it; None when another process has it.

    Safe to call again for the same run (an executor's retry, with the same
    ``owner``): a run that an attempt of ``owner`` recorded is adopted, not run
    twice. A run recorded by anyone else (another ``queue start``) is theirs: None.
    """
    for prefix, status in ((QUEUE_REF_PREFIX, "queued"), (CLAIMED_REF_PREFIX, "running")):
        commit = read_ref(project.git, prefix + name)
        if commit is None:
            continue
        run = QueuedRun(name, commit, status, "", (), {})  # one ref read: no queue listing
        with taken(project, run) as held:
            if held:
                if owner is not None:
                    atomic_write(_owner_file(project, name), owner.encode())
                return run_claimed(project, Claim(name, commit), notify, stop)
    done = read_ref(project.git, ExperimentName(name).ref)
    if done is None or (owner is not None and _owner_of(project, name) != owner):
        return None
    return adopted(project, name, done)


def _owner_file(project: Project, name: str) -> Path:
    """Where the last taker of run ``name`` that named itself is written."""
    return project.layout.queue / f"{name}.owner"


def _owner_of(project: Project, name: str) -> str | None:
    try:
        return _owner_file(project, name).read_text()
    except (FileNotFoundError, UnicodeDecodeError):
        return None


def candidates(project: Project) -> list[QueuedRun]:
    """Runs to take, oldest first: claims (stale unless their lock is held), then queued runs."""
    runs = list_queue(project)
    return [r for r in runs if r.status == "running"] + [r for r in runs if r.status == "queued"]


def claim_queued(project: Project, run: QueuedRun) -> bool:
    """Move the run from the queue to the claimed refs; False when another took it."""
    try:
        update_refs(
            project.git,
            [
                RefUpdate(QUEUE_REF_PREFIX + run.name, None, run.commit),
                RefUpdate(CLAIMED_REF_PREFIX + run.name, run.commit, None),
            ],
            f"gitexp: queue start {run.name}",
        )
    except ConflictError:
        return False
    return True


def give_back(project: Project, name: str, commit: str) -> None:
    """Put a claimed run that did not run back in the queue, as it was."""
    updates = [
        RefUpdate(CLAIMED_REF_PREFIX + name, None, commit),
        RefUpdate(QUEUE_REF_PREFIX + name, commit, None),
    ]
    with contextlib.suppress(GitexpError):
        update_refs(project.git, updates, f"gitexp: queue start gave back {name}")


@contextlib.contextmanager
def run_lock(project: Project, name: str) -> Iterator[bool]:
    """Hold run ``name``'s lock file for the block: True when this process got it."""
    folder = project.layout.queue
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


WorktreeAt = Callable[[Project, str, str], contextlib.AbstractContextManager[GitRepo]]
"""Gives the worktree run ``name`` runs in, at its queued commit, for a block."""


def fresh_worktree(
    project: Project, name: str, commit: str
) -> contextlib.AbstractContextManager[GitRepo]:
    """A new worktree for run ``name`` at ``commit``, removed when the block ends."""
    path = project.layout.worktrees / f"{name}-{secrets.token_hex(3)}"
    return isolated_worktree(project.git, path, commit)


def run_claimed(
    project: Project,
    claim: Claim,
    notify: Notify | None,
    stop: threading.Event,
    worktree: WorktreeAt = fresh_worktree,
) -> RunResult:
    """Run one taken run in a worktree of its commit and record it under its name.

    ``worktree``: where it runs (default: a new one; a cluster's worker keeps one).
    """
    git = project.git
    commit = git.lookup_commit(claim.commit)
    record = queued_record(project, claim.commit, claim.name)
    base = git.lookup_commit(record.baseline_commit)
    done = read_ref(git, ExperimentName(claim.name).ref)
    if done is not None:  # recorded by a queue start killed before it let go of the claim
        return adopted(project, claim.name, done)
    runner = Runner(
        project, base, parse_command(record.command), None, False, notify or _quiet, _env(record)
    )
    runner.stop = stop
    runner.sweep, runner.reproduces = record.sweep, record.reproduces  # a trial, a run again
    pointers = pointers_at(git, commit.tree)
    check_data(project, pointers)
    with worktree(project, claim.name, claim.commit) as tree:
        bring_data(project, tree, pointers)
        place = Place(git=tree, start=commit.tree, cwd=tree.root, restore=False)
        return runner.run_point(_plan(project, base, commit, record), claim.name, place, None)


def _env(record: RunRecord) -> dict[str, str] | None:
    """A trial of a sweep that prunes asks its driver (`pruning`): the goal it watches."""
    sweep = record.sweep or {}
    goal = sweep.get("goal")
    if not sweep.get("prune") or not isinstance(goal, dict):
        return None
    return {**os.environ, ENV_PRUNE: str(goal.get("key"))}


def _plan(
    project: Project, base: pygit2.Commit, commit: pygit2.Commit, record: RunRecord
) -> ParamsPlan:
    """The params as queued (already in the commit): nothing more to write."""
    point = tuple(
        Override(path, key, (value,), None, f"{path}:{key}={format_value(value)}")
        for path, keys in record.overrides.items()
        for key, value in keys.items()
    )
    files = {}
    for path in record.overrides:
        new = project.git.read_blob(commit.tree, path) or b""
        old = project.git.read_blob(base.tree, path) or new
        files[path] = (old, new)
    return ParamsPlan(point, files)


def adopted(project: Project, name: str, commit: str) -> RunResult:
    """The result of a run recorded already (by a retried or killed taker): adopted as is."""
    data = project.git.read_blob(project.git.lookup_commit(commit).tree, RUN_JSON) or b""
    record = parse_run_json(data, f"experiment '{name}'")
    return RunResult(
        name, ExperimentName(name).ref, commit, record.status, record.exit_code, record.duration_s
    )


def _quiet(_message: str) -> None:
    return None
