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
compared or judged here as a local one.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pygit2

from gitexp.core.config import ProjectConfig
from gitexp.core.goals import DIRECTIONS, Direction
from gitexp.core.names import QUEUE_REF_PREFIX, ExperimentName
from gitexp.core.params import Override
from gitexp.core.pointer import Pointer
from gitexp.core.runinfo import OUTPUT_LOG, RunRecord, iso_utc, utc_now
from gitexp.data.pointers import pointers_at, read_manifest
from gitexp.data.sync import Storage, pull_pointers
from gitexp.errors import (
    CommandError,
    ConflictError,
    GitexpError,
    Interrupted,
    NotFoundError,
    UsageError,
)
from gitexp.experiments.run.crashed import remove_abandoned_worktrees
from gitexp.experiments.run.environment import host_facts
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
    from gitexp.experiments.run.executors.worker import Outcome, Task

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


@contextlib.contextmanager
def on_executor(project: Project, ctx: Context) -> Iterator[Context]:
    """``ctx`` with one cluster for every run of the block, closed after it.

    ``dask`` starts one cluster on this machine, not one a run: ``bisect`` judges
    every commit on it. ``dask://`` connects to its scheduler once. Either is
    started at the first run (a bisect that reuses every verdict starts nothing)
    and closed however the block ends (an error, Ctrl-C). The git remote a
    ``dask://`` cluster's workers use is checked here, before anything runs.
    ``local`` needs nothing.
    """
    if ctx.executor == "local" or ctx.cluster is not None:
        yield ctx
        return
    from gitexp.experiments.run.executors.dask import distributed_module

    distributed_module()  # `MissingExtraError` now, not at the first run
    if ctx.executor.startswith("dask://"):
        from gitexp.experiments.run.executors.cluster import git_remote_url

        git_remote_url(project, ctx.git_remote)
    cluster = Cluster(ctx.executor)
    try:
        yield replace(ctx, cluster=cluster)
    finally:
        cluster.close()


class Cluster:
    """A Dask cluster kept for a command's runs: started (or connected to) when first used."""

    def __init__(self, executor: str) -> None:
        self.executor = executor
        self.scope = contextlib.ExitStack()
        self.started: Any = None

    def client(self) -> Any:
        """The client of the cluster, started or connected to at the first call."""
        if self.started is None:
            if self.executor == "dask":
                from gitexp.experiments.run.executors.dask import distributed_module, local_cluster

                distributed = distributed_module()
                cluster = self.scope.enter_context(local_cluster(distributed, 1))
                self.started = self.scope.enter_context(distributed.Client(cluster))
            else:
                from gitexp.experiments.run.executors.cluster import connect

                self.started = connect(self.executor)
                self.scope.callback(self.started.close)
        return self.started

    def close(self) -> None:
        """Close the client, and the cluster when it was started here (its workers end)."""
        self.scope.close()


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
        return _run_queued(project, rerun, ctx)
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


def _run_queued(project: Project, rerun: Rerun, ctx: Context) -> RunResult:
    """Queue ``rerun`` under a free name and run it on ``ctx.executor``; the experiment.

    The data is in the cache already (`_ensure_data`): the executor pushes it to the
    storage remote for a cluster's workers. The command is not looked for here: it
    runs on a worker, and a run whose command is missing there is recorded failed.
    Raises `Interrupted` when stopped before the run began (nothing is left queued),
    and what the executor raises.
    """
    from gitexp.experiments.run.queue import enqueue_tree

    git, holder = project.git, str(rerun.start.id)
    with claimed_name(git, rerun.name, rerun.numbered, holder) as name:
        record = RunRecord(
            name=name, command=rerun.command.recorded,
            overrides={f: dict(keys) for f, keys in rerun.overrides.items()}, status="queued",
            exit_code=None, started=iso_utc(utc_now()), duration_s=0.0,
            baseline_commit=str(rerun.base.id), baseline_branch=git.head_branch(),
            reproduces=rerun.reproduces, **host_facts(),
        )  # fmt: skip
        queued = enqueue_tree(project, rerun.start.tree, record)
        ctx.say(f"running {rerun.start.short_id} on {ctx.executor} as experiment '{name}'")
        results: list[RunResult] = []
        try:
            _start(project, ctx, name, results.append)
        except Interrupted:
            if not results:
                raise
        finally:
            with contextlib.suppress(GitexpError):  # not run: not left in the queue
                delete_refs(git, [(QUEUE_REF_PREFIX + name, queued.commit)])
        if not results:
            raise ConflictError(
                f"experiment '{name}' was taken by another `gitexp queue start`",
                hint="see `gitexp show`, or run again",
            )
        return results[0]


def _start(
    project: Project, ctx: Context, name: str, on_result: Callable[[RunResult], None]
) -> None:
    """Run queued run ``name`` on ``ctx``'s cluster, its output shown as it comes.

    The cluster is the one kept open for the command (`on_executor`), else one for
    this run only. With ``ctx.on_output``, the run's output reaches it live
    (`liveoutput`), completed from the record once the run is recorded.
    """
    from gitexp.experiments.lifecycle.liveoutput import (
        Shown,
        Tail,
        relayed_task,
        subscribed,
        tailing,
    )

    cluster = ctx.cluster or Cluster(ctx.executor)
    try:
        client = cluster.client()
        if ctx.on_output is None:
            _start_on(project, ctx, name, on_result, client, None)
            return
        shown = Shown(ctx.on_output, ctx.say)

        def recorded(result: RunResult) -> None:
            shown.finish(project.git.read_blob(project.git.lookup_commit(result.commit).tree,
                                               OUTPUT_LOG))  # fmt: skip
            on_result(result)

        if ctx.executor == "dask":  # the run's journal is on this machine: read it here
            with tailing(Tail(project.layout.runs, name), shown.take):
                _start_on(project, ctx, name, recorded, client, None)
            return
        topic = f"gitexp-output-{secrets.token_hex(4)}"
        with subscribed(client, topic, shown):
            task = functools.partial(relayed_task, topic=topic)
            _start_on(project, ctx, name, recorded, client, task)
    finally:
        if ctx.cluster is None:
            cluster.close()


def _start_on(
    project: Project,
    ctx: Context,
    name: str,
    on_result: Callable[[RunResult], None],
    client: Any,
    task: Callable[[Task], Outcome] | None,
) -> None:
    if ctx.executor == "dask":
        from gitexp.experiments.run.executors.dask import start_dask

        start_dask(project, 1, [name], notify=ctx.say, on_result=on_result, stop=ctx.stop,
                   client=client)  # fmt: skip
        return
    from gitexp.experiments.run.executors.cluster import start_cluster
    from gitexp.experiments.run.executors.worker import run_task

    start_cluster(
        project, ctx.executor, [name], notify=ctx.say, on_result=on_result, stop=ctx.stop,
        git_remote=ctx.git_remote, client=client, task=task or run_task,
    )  # fmt: skip


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
