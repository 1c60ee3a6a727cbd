"""Running a commit again in a throwaway worktree: reproduce's and bisect's one way in.

Everything these commands need from the run machinery goes through `run_again`, so
it is the one place to change when that machinery changes. The run is the same as a
``gitexp run -j`` point: an isolated worktree checked out from ``start``, the
tracked data brought from the cache (pulled from the storage remote first when the
cache lacks it), and the experiment recorded with ``base`` as its parent.

On another executor (``dask``, ``dask://HOST:PORT``) the run is queued instead, as
a commit of ``start``'s tree with its record, and run the way that executor runs
any queued run (`executors.start`): on a cluster's worker, in its own clone, with
the data from the storage remote; the experiment it records is fetched back and
compared or judged here as a local one (`oncluster`).
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pygit2

from gitexp.core.config import ProjectConfig
from gitexp.core.goals import DIRECTIONS, Direction
from gitexp.core.names import ExperimentName
from gitexp.core.params import Override
from gitexp.core.pointer import Pointer
from gitexp.data.pointers import pointers_at, read_manifest
from gitexp.data.sync import Storage, pull_pointers
from gitexp.errors import (
    CommandError,
    ConflictError,
    GitexpError,
    NotFoundError,
    UsageError,
)
from gitexp.experiments.run.crashed import remove_abandoned_worktrees
from gitexp.experiments.run.overrides import ParamsPlan
from gitexp.experiments.run.process import Command, OutputSink, check_command, parse_command
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Notify, Place, Runner
from gitexp.experiments.run.worktreedata import bring_data, check_data
from gitexp.git.refs import delete_refs, read_ref
from gitexp.git.repo import GitRepo
from gitexp.git.tags import create_only
from gitexp.git.worktrees import isolated_worktree
from gitexp.project import Project

if TYPE_CHECKING:  # a cluster's parts load with a cluster run
    from gitexp.experiments.lifecycle.oncluster import Cluster

CLAIM_PREFIX = "refs/gitexp/claims/"
"""Where a command holds the name of the experiment it is running (see `claimed_name`)."""
EXECUTORS = ("local", "dask", "dask://HOST:PORT")
"""Where ``reproduce`` and ``bisect`` can run: local worktrees, a local or existing Dask cluster."""


def check_executor(executor: str | None) -> str:
    """The executor to use (default ``local``); `UsageError` for one these commands cannot use."""
    if executor is None or executor in ("local", "dask"):
        return executor or "local"
    if executor.startswith("dask://"):
        from gitexp.experiments.run.executors.cluster import scheduler_address

        scheduler_address(executor)
        return executor
    raise UsageError(
        f"executor '{executor}' is not available for reproduce and bisect",
        hint="use --executor local (local worktrees, the default), dask or dask://HOST:PORT",
    )


@dataclass(frozen=True)
class Rerun:
    """One run to do again: where it starts, what it records, and how it is named."""

    name: str
    """The new experiment's name; with ``numbered``, the first free of NAME, NAME-2…"""
    base: pygit2.Commit
    """The new experiment's parent (its baseline)."""
    start: pygit2.Commit
    """What the worktree checks out: the code and params to run."""
    config: ProjectConfig
    command: Command
    overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    message: str | None = None
    reproduces: Mapping[str, str] | None = None
    numbered: bool = True


@dataclass(frozen=True)
class Context:
    """What every run shares: storage for missing data, messages, environment, stop."""

    storage: Storage = field(default_factory=Storage)
    say: Notify = lambda _message: None
    env: Mapping[str, str] | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    on_output: OutputSink | None = None
    """Receives the command's output as it comes (None: kept in the record only)."""
    executor: str = "local"
    """Where runs go (`check_executor`): local worktrees, or queued for a Dask cluster."""
    git_remote: str | None = None
    """The git remote a ``dask://`` cluster's workers use (default: origin, as for push)."""
    cluster: Cluster | None = None
    """The Dask cluster kept for the command's runs (`on_executor`); None: one a run."""


def check_goal(goal: str | None) -> Direction | None:
    """``max``, ``min`` or None; `UsageError` for anything else."""
    if goal is None or goal in DIRECTIONS:
        return "max" if goal == "max" else "min" if goal == "min" else None
    raise UsageError(f"goal is {goal!r}; use max or min")


def context(
    remote: str | None,
    credentials: Mapping[str, str] | None,
    notify: Notify | None,
    env: Mapping[str, str] | None,
    stop: threading.Event | None,
    on_output: OutputSink | None = None,
    executor: str | None = None,
    git_remote: str | None = None,
) -> Context:
    """The `Context` of the API's keywords; `UsageError` for an executor not available.

    ``git_remote`` is for a ``dask://`` cluster only: `UsageError` with any other executor.
    """
    from gitexp.experiments.run.executors import check_git_remote

    where = check_executor(executor)
    check_git_remote(where, git_remote)
    return Context(
        Storage(remote, None, dict(credentials or {})),
        notify or (lambda _message: None),
        env,
        stop or threading.Event(),
        on_output,
        where,
        git_remote,
    )


def command_of(recorded: Sequence[str], config: ProjectConfig) -> Command:
    """The command to run again: the one recorded (``sh -c LINE``: a shell line), else config's."""
    words = list(recorded)
    if len(words) == 3 and words[:2] == ["sh", "-c"]:
        return Command((words[2],), shell=True)  # noqa: S604 - the user's own recorded line
    if words:
        return parse_command(words)
    if not config.command:
        raise CommandError(
            "no command to run: none was given or recorded, and gitexp.yaml there has none",
            hint="set 'command:' in gitexp.yaml, or pass --command 'python train.py' to bisect",
        )
    return parse_command(
        config.command if isinstance(config.command, str) else list(config.command)
    )


@contextlib.contextmanager
def claimed_name(git: GitRepo, stem: str, numbered: bool, holder: str) -> Iterator[str]:
    """A free experiment name, held against other gitexp commands for the block.

    ``stem``, else (``numbered``) ``stem-2``, ``stem-3``…: the first that names no
    experiment and that no other command holds. A name is held by creating the ref
    ``refs/gitexp/claims/<name>`` (create-only, checked under git's lock), so two
    reproduces of one experiment at once run as ``x-repro`` and ``x-repro-2``
    instead of one losing its run to the other at the end. Raises `ConflictError`
    for a taken name that may not be numbered.
    """
    for number in range(1, 1000):
        name = stem if number == 1 else f"{stem}-{number}"
        ref = ExperimentName(name).ref
        claim = f"{CLAIM_PREFIX}{name}"
        if read_ref(git, ref) is None and create_only(git, claim, holder):
            try:
                if read_ref(git, ref) is None:  # not recorded just before the claim
                    yield name
                    return
            finally:
                with contextlib.suppress(GitexpError):
                    delete_refs(git, [(claim, holder)])
        if not numbered:
            raise ConflictError(
                f"experiment '{name}' already exists (or is being run)",
                hint="pick another name with -n",
            )
    raise UsageError(
        f"no free experiment name like '{stem}'", hint="remove some with `gitexp remove`"
    )


def run_again(project: Project, rerun: Rerun, ctx: Context) -> RunResult:
    """Run ``rerun`` in a new worktree and record it; the recorded experiment.

    Raises `NotFoundError` when data the run needs is in neither the cache nor the
    storage remote (nothing runs then), `CommandError` when the command is gone, and
    `Interrupted` when ``ctx.stop`` is set before it starts.
    """
    place_project = Project(project.git, rerun.config, project.local)
    pointers = pointers_at(project.git, rerun.start.tree)
    _ensure_data(place_project, pointers, ctx.storage, rerun.name)
    if ctx.executor != "local":
        from gitexp.experiments.lifecycle.oncluster import run_queued

        return run_queued(project, rerun, ctx)
    remove_abandoned_worktrees(project)
    runner = Runner(
        place_project, rerun.base, rerun.command, rerun.message, False, ctx.say, ctx.env,
        stop=ctx.stop, reproduces=rerun.reproduces,
    )  # fmt: skip
    plan = ParamsPlan(_as_overrides(rerun.overrides))
    git, holder = project.git, str(rerun.start.id)
    with claimed_name(git, rerun.name, rerun.numbered, holder) as name:
        path = project.layout.worktrees / f"{name}-{secrets.token_hex(3)}"
        with isolated_worktree(git, path, holder) as worktree:
            check_command(rerun.command, worktree.root)
            bring_data(place_project, worktree, pointers)
            place = Place(git=worktree, start=rerun.start.tree, cwd=worktree.root, restore=False)
            ctx.say(f"running {rerun.start.short_id} in a worktree as experiment '{name}'")
            return runner.run_point(plan, name, place, on_output=ctx.on_output)


def _as_overrides(overrides: Mapping[str, Mapping[str, object]]) -> tuple[Override, ...]:
    """The recorded ``{file: {key: value}}`` as overrides, for the new record to list."""
    return tuple(
        Override(file, key, (value,), add=None)
        for file, keys in overrides.items()
        for key, value in keys.items()
    )


def _ensure_data(
    project: Project, pointers: dict[str, Pointer], storage: Storage, name: str
) -> None:
    """Make sure the cache holds the data of ``pointers``: from the workspace or storage.

    The workspace's copy is taken when it is the right version (`check_data`); what
    is still missing is pulled from the storage remote, verified.
    """
    try:
        check_data(project, pointers)
        return
    except NotFoundError:
        pass
    store = project.store()
    missing: dict[str, Pointer] = {}
    for rel, pointer in pointers.items():
        if not store.has(pointer.oid):
            missing[rel] = pointer
        elif pointer.kind == "dir":
            try:
                if not all(store.has(e.oid) for e in read_manifest(store, pointer)):
                    missing[rel] = pointer
            except NotFoundError:
                missing[rel] = pointer
    pull_pointers(project, storage, missing, f"the run of {name}")
    check_data(project, pointers)
