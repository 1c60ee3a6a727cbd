"""Reproduce's and bisect's runs on a Dask cluster: queued, run there, fetched back.

A run is queued as a commit of its start's tree with its record and run the way
that executor runs any queued run (`executors.start`): on a cluster's worker, in
its own clone, with the data from the storage remote. The cluster serves the whole
command (`on_executor`: started or connected to at the first run, closed at the
end), and the run's output reaches the caller as it comes (`liveoutput`).
"""

from __future__ import annotations

import contextlib
import functools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from gitexp.core.names import QUEUE_REF_PREFIX
from gitexp.core.runinfo import OUTPUT_LOG, RunRecord, iso_utc, utc_now
from gitexp.errors import ConflictError, GitexpError, Interrupted
from gitexp.experiments.lifecycle.rerun import Context, Rerun, claimed_name
from gitexp.experiments.run.environment import host_facts
from gitexp.experiments.run.record import RunResult
from gitexp.git.refs import delete_refs
from gitexp.project import Project

if TYPE_CHECKING:  # the worker's parts load with a cluster run
    from gitexp.experiments.run.executors.worker import Outcome, Task


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


def run_queued(project: Project, rerun: Rerun, ctx: Context) -> RunResult:
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
