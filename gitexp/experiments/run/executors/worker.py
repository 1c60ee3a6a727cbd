"""What a worker of an existing Dask cluster does with one queued run.

A worker shares no folder with the driver: it keeps a repository of its own (made
once, under ``GITEXP_WORKER_DIR`` or the worker's local directory) whose objects
come from the driver's git remote, gets the run's data from the storage remote,
runs the run in a worktree of that repository (one it keeps, reset for each run),
pushes the data the run made, then creates ``refs/experiments/NAME`` on the git
remote create-only (the refs of runs finished back to back in one push, while the
next run goes on: `refpush`). Whoever creates the
ref first recorded the run; a retried task (its worker was killed) learns that from
the push's rejection and adopts the ref the remote holds, so a run is recorded once
however often Dask runs its task. (No look at the remote before each run: it cost a
git process pair per run for the rare task run again after its first worker pushed.)

The driver stops tasks through `stopping.stop_tasks` (run on every worker): each
running task's stop event is set, so its command's process group is signalled and
the run is recorded ``interrupted``; a task that starts after it does nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import secrets
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import pygit2

from gitexp.core.config import LocalConfig, ProjectConfig
from gitexp.core.names import CLAIMED_REF_PREFIX, ExperimentName
from gitexp.core.runinfo import RUN_JSON, RunRecord, parse_run_json
from gitexp.data.media import media_pointers
from gitexp.data.pointers import pointers_at
from gitexp.data.sync import DataResult, Storage, Wants, pull_data, push_data
from gitexp.errors import GitexpError, Interrupted
from gitexp.experiments.run.crashed import remove_abandoned_worktrees
from gitexp.experiments.run.executors import refpush
from gitexp.experiments.run.executors.local import Claim, run_claimed
from gitexp.experiments.run.executors.orphans import REPO_PREFIX, end_orphans_of
from gitexp.experiments.run.executors.reporting import Reporter, Tell
from gitexp.experiments.run.executors.stopping import registered
from gitexp.experiments.run.process import tethered
from gitexp.experiments.run.queue import queued_record
from gitexp.git import transport
from gitexp.git.maintenance import gc_auto
from gitexp.git.refs import RefUpdate, delete_refs, read_ref, update_refs
from gitexp.git.repo import GitRepo
from gitexp.git.worktrees import (
    KeptWorktree,
    drop_worktree,
    empty_worktree,
    keep_worktree,
    reset_worktree,
)
from gitexp.project import Layout, Project, config_at

ENV_WORKER_DIR = "GITEXP_WORKER_DIR"
"""Where a worker keeps its repositories (default: under the Dask worker's local directory)."""


@dataclass(frozen=True, slots=True)
class Task:
    """One queued run as the driver hands it to a worker: where everything is, absolutely.

    ``key`` is unique to this run of this driver (what `stop_tasks` names);
    ``storage`` holds the storage remote's name, URL and non-secret options (a
    worker's credentials come from its own environment).
    """

    key: str
    name: str
    commit: str
    git_url: str
    storage: Mapping[str, object]
    folder: str | None = None
    topic: str | None = None
    """The Dask event topic to report the run's start and logged values on (`reporting`)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a task did: the experiment's commit on the git remote (None: not run)."""

    name: str
    commit: str | None
    adopted: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def run_task(task: Task) -> Outcome:
    """Run one queued run on this worker and record it on the git remote, once.

    Returns at once, running nothing, when the driver stopped this task before it
    began. Raises `GitexpError` when the git or storage remote fails.
    """
    with registered(task.key) as stop:
        if stop is None:
            return Outcome(task.name, None)
        with _in_flight(task):
            return _run(task, stop)


_IN_FLIGHT: dict[tuple[str, str], int] = {}
"""Runs this process's tasks have in hand, by git remote and name: from the task's start
until its ref is on the remote (its command may have ended long before)."""
_IN_FLIGHT_LOCK = threading.Lock()


@contextlib.contextmanager
def _in_flight(task: Task) -> Iterator[None]:
    key = (task.git_url, task.name)
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT[key] = _IN_FLIGHT.get(key, 0) + 1
    try:
        yield
    finally:
        with _IN_FLIGHT_LOCK:
            left = _IN_FLIGHT.pop(key) - 1
            if left:
                _IN_FLIGHT[key] = left


def in_flight(git_url: str, names: Iterable[str]) -> set[str]:
    """Which of ``names`` a task of this process has in hand for the git remote ``git_url``.

    A run's journal ends with its command, but its task goes on: it pushes the run's
    data, then its ref. Until that ref is on the remote, the run is not over, and a
    resumed driver that took it for over would run it again.
    """
    with _IN_FLIGHT_LOCK:
        return {n for n in names if (git_url, n) in _IN_FLIGHT}


_SWEPT: set[Path] = set()
"""Repositories whose abandoned worktrees this process removed (once each)."""
_TASKS: dict[Path, int] = {}
"""Tasks this process began in each repository."""
HOUSEKEEPING_EVERY = 50
"""Tasks between two looks at whether git's housekeeping is due in a worker's repository."""


def _tidy(git: GitRepo) -> None:
    """End what a killed worker left running here, then remove the worktrees it left.

    The journals are looked at before every run (one listing); the worktrees once
    per process, and again whenever a killed worker's run was found. Every
    `HOUSEKEEPING_EVERY` tasks (and at the first), git packs what its runs left
    loose, so a repository that serves thousands of runs stays quick.
    """
    ended = end_orphans_of(Layout.of(git.common_dir).runs)
    if ended or git.common_dir not in _SWEPT:
        _SWEPT.add(git.common_dir)
        remove_abandoned_worktrees(Project(git, ProjectConfig()))
    count = _TASKS[git.common_dir] = _TASKS.get(git.common_dir, 0) + 1
    if count % HOUSEKEEPING_EVERY == 1:
        gc_auto(git)


def _run(task: Task, stop: threading.Event) -> Outcome:
    git = _repository(_folder(task), task.git_url)
    tell = _teller(task)
    pushing = refpush.pusher(git, task.git_url)
    with pushing.running():
        made = _threads().submit(_made, git, task, stop, tell).result()
    if made is None:
        return Outcome(task.name, None)
    mine, notes = made
    refpush.leave_pool()  # the next run starts while this one's ref waits for others'
    there = pushing.push(ExperimentName(task.name).ref, mine)  # another task's if it was first
    return Outcome(task.name, there, adopted=there != mine, notes=tuple(notes))


_THREADS: list[ThreadPoolExecutor] = []
_THREADS_LOCK = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    """The threads this process runs its runs in, kept for its whole life.

    A task leaves Dask's thread pool while its ref waits to be pushed, and Dask
    ends that thread when the task returns; the runs themselves (git, YAML and the
    command's parent-death tether) stay on these long-lived threads instead.
    """
    with _THREADS_LOCK:
        if not _THREADS:
            _THREADS.append(ThreadPoolExecutor(max_workers=64, thread_name_prefix="gitexp-run"))
        return _THREADS[0]


def _made(
    git: GitRepo, task: Task, stop: threading.Event, tell: Tell | None
) -> tuple[str, list[str]] | None:
    """Run the run here (or take this worker's earlier attempt at it), its data pushed.

    Returns the experiment's commit (its ref made here, not yet on the git remote)
    and what was said; None when it was stopped before its command started.
    """
    _tidy(git)
    with _locked(git):
        if task.commit not in git.repo:  # one fetch brings every run the driver pushed
            transport.fetch_refs(git, task.git_url, [CLAIMED_REF_PREFIX + "*"])
            transport.clear_incoming(git)
        project = _project(git, task)
        record = queued_record(project, task.commit, task.name)
        _set_branch(git, record)
    mine = _own_attempt(project, ExperimentName(task.name).ref, record)
    notes: list[str] = []
    if mine is None:
        _bring(project, task)
        try:
            with tethered(), _reported(task, project, tell):
                claim = Claim(task.name, task.commit)
                result = run_claimed(project, claim, notes.append, stop, _kept_worktree)
        except Interrupted:  # stopped before its command started: nothing recorded
            return None
        mine = result.commit
    _push(project, task, mine)
    return mine, notes


_KEPT: dict[Path, list[KeptWorktree]] = {}
"""Worktrees this process keeps for its next runs, free now, by repository."""
_KEPT_LOCK = threading.Lock()


@atexit.register
def _let_go_of_kept() -> None:
    """At exit, close the owner files of the kept worktrees: a later sweep removes them."""
    with _KEPT_LOCK:
        for trees in _KEPT.values():
            for kept in trees:
                kept.handle.close()
        _KEPT.clear()


@contextlib.contextmanager
def _kept_worktree(project: Project, name: str, commit: str) -> Iterator[GitRepo]:
    """A worktree at ``commit`` for run ``name``: one this process keeps, reset in-process.

    A worker runs run after run: resetting a worktree it keeps costs no git process,
    where adding and removing one costs one and a folder's worth of writes. The
    worktree is emptied after each run (what the run wrote does not stay on disk);
    one that a run ended badly in, or that cannot be emptied, is removed instead.
    """
    git = project.git
    with _KEPT_LOCK:
        free = _KEPT.setdefault(git.common_dir, [])
        kept = free.pop() if free else None
    if kept is None:
        path = project.layout.worktrees / f"kept-{os.getpid()}-{secrets.token_hex(3)}"
        kept = keep_worktree(git, path, commit)
        tree = kept.git
    else:
        try:
            tree = reset_worktree(kept, commit)
        except GitexpError:
            drop_worktree(git, kept)
            raise
    try:
        yield tree
    except BaseException:
        drop_worktree(git, kept)
        raise
    if not empty_worktree(kept):
        drop_worktree(git, kept)
        return
    with _KEPT_LOCK:
        _KEPT[git.common_dir].append(kept)


def task_repository(task: Task, local_directory: str | None = None) -> GitRepo:
    """This worker's repository for ``task``'s git remote, where its runs go (made once).

    ``local_directory``: the Dask worker's, given where no task runs (``client.run``).
    """
    return _repository(_folder(task, local_directory), task.git_url)


def _teller(task: Task) -> Tell | None:
    """How to tell the driver of the run, on the task's topic (None: nobody listens)."""
    if task.topic is None:
        return None
    from distributed import get_worker

    worker, topic = get_worker(), task.topic
    return lambda message: worker.log_event(topic, message)


def _reported(
    task: Task, project: Project, tell: Tell | None
) -> contextlib.AbstractContextManager[object]:
    """Tell the driver that the run started and what it logs."""
    if tell is None:
        return contextlib.nullcontext()
    return Reporter(tell, project.layout.runs, task.name)


def _folder(task: Task, local_directory: str | None = None) -> Path:
    return Path(task.folder) if task.folder else worker_folder(local_directory)


def worker_folder(local_directory: str | None = None) -> Path:
    """Where this worker keeps its repositories: `ENV_WORKER_DIR`, else under Dask's folder."""
    given = os.environ.get(ENV_WORKER_DIR)
    if given:
        return Path(given)
    if local_directory is None:
        from distributed import get_worker

        local_directory = get_worker().local_directory
    return Path(local_directory) / "gitexp"


def _repository(folder: Path, url: str) -> GitRepo:
    """This worker's repository for the git remote ``url``: made once, reused after."""
    path = folder / (REPO_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:16])
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{path.name}.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        if not (path / ".git").is_dir():
            pygit2.init_repository(str(path), initial_head="gitexp-worker")
    return GitRepo.discover(path)


@contextlib.contextmanager
def _locked(git: GitRepo) -> Iterator[None]:
    """This repository to one task at a time (fetches share its incoming refs)."""
    with open(git.common_dir / "gitexp-worker.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


def _project(git: GitRepo, task: Task) -> Project:
    """The run's project: its commit's ``gitexp.yaml``, with the driver's storage remote."""
    config = config_at(git, git.lookup_commit(task.commit).tree)
    name = str(task.storage["name"])
    settings = {k: v for k, v in task.storage.items() if k != "name"}
    return Project(git, replace(config, remote=name, remotes={name: settings}), LocalConfig())


def _own_attempt(project: Project, ref: str, queued: RunRecord) -> str | None:
    """The experiment an earlier task of this run recorded here and did not push, if any.

    A local experiment of the same name from another run (one removed and queued
    again) is dropped: only an attempt at this queued run, started after it was
    queued, counts.
    """
    git = project.git
    commit = read_ref(git, ref)
    if commit is None:
        return None
    data = git.read_blob(git.lookup_commit(commit).tree, RUN_JSON) or b""
    with contextlib.suppress(GitexpError):
        done = parse_run_json(data, ref)
        same = (done.baseline_commit, done.overrides, done.command) == (
            queued.baseline_commit,
            queued.overrides,
            queued.command,
        )
        if same and done.started >= queued.started and done.status != "interrupted":
            return commit
    delete_refs(git, [(ref, commit)])
    return None


def _bring(project: Project, task: Task) -> None:
    """The run's tracked data into this worker's cache, from the storage remote."""
    git = project.git
    pointers = pointers_at(git, git.lookup_commit(task.commit).tree)
    if pointers:
        wants = Wants()
        wants.add(task.name, pointers)
        pull_data(project, Storage(), wants, DataResult())


def _set_branch(git: GitRepo, record: RunRecord) -> None:
    """HEAD on the baseline's branch, so the record names it as a run on the driver would."""
    branch = record.baseline_branch
    if not branch:
        return
    head = f"refs/heads/{branch}"
    if git.head_branch() == branch and read_ref(git, head) == record.baseline_commit:
        return
    with contextlib.suppress(GitexpError, ValueError, pygit2.GitError):
        update_refs(git, [RefUpdate(head, record.baseline_commit, read_ref(git, head))])
        git.repo.set_head(head)


def _push(project: Project, task: Task, commit: str) -> None:
    """The data the experiment at ``commit`` needs, to the storage remote, before its ref."""
    git = project.git
    tree = git.lookup_commit(commit).tree
    pointers = {**pointers_at(git, tree), **media_pointers(git, tree)}
    if pointers:
        wants = Wants()
        wants.add(task.name, pointers)
        push_data(project, Storage(), wants, DataResult())
