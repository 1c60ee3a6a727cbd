"""``queue start --executor dask``: the queue's runs as tasks on a local Dask cluster.

A `distributed.LocalCluster` of ``jobs`` worker processes (one thread each) gets one
task per queued run; each task takes its run exactly as a local ``queue start``
does (`local.run_named`: a lock file, then a compare-and-swap of refs) and runs it
in a worktree of the same repository. Dask may run a task again (a worker that
died); the retry finds the run taken by a live process (and returns nothing),
takes over the dead one's claim, or adopts the experiment it recorded: each run is
recorded once. Needs ``pip install 'gitexp[dask]'``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from gitexp.errors import Interrupted, MissingExtraError
from gitexp.experiments.run.executors.stopping import registered, stop_all
from gitexp.experiments.run.queue import list_queue
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Notify
from gitexp.project import Project


def start_dask(
    project: Project,
    jobs: int,
    only: Sequence[str] | None = None,
    *,
    notify: Notify | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    stop: threading.Event | None = None,
    client: Any = None,
) -> list[RunResult]:
    """Run the runs queued now on a local cluster of ``jobs`` workers; their results.

    ``client``: one of a cluster started already, kept open (a command that runs
    several times, as ``bisect`` does, starts its cluster once); ``jobs`` is unused then.

    On a stop, tasks not started are cancelled (their runs stay queued), the
    running ones stop their commands and record them ``interrupted``
    (`stopping.stop_all`), and `Interrupted` is raised once they are recorded.
    """
    distributed = distributed_module()
    stop = stop or threading.Event()
    names = [run.name for run in list_queue(project) if run.status == "queued"]
    if only is not None:
        names = [name for name in names if name in only]
    results: list[RunResult] = []

    def take(result: RunResult | None) -> None:
        if result is not None:
            results.append(result)
            if on_result is not None:
                on_result(result)

    token = secrets.token_hex(4)
    keys = {name: f"gitexp-{token}-{name}" for name in names}
    with contextlib.ExitStack() as scope:
        client = client or _own_client(scope, distributed, jobs)
        pending = {
            client.submit(
                run_task, str(project.root), name, keys[name], key=keys[name], pure=False
            ): name
            for name in names
        }
        while pending:
            if stop.is_set():
                for future in stop_all(distributed, client, pending, keys):
                    take(future.result())
                raise Interrupted("interrupted; the runs not started stay queued")
            for future in _finished(distributed, pending):
                pending.pop(future)
                take(future.result())
    if notify is not None and len(results) < len(names):
        notify(f"{len(names) - len(results)} run(s) were taken by another `queue start`")
    return results


def _own_client(scope: contextlib.ExitStack, distributed: ModuleType, jobs: int) -> Any:
    """A client of a new cluster of ``jobs`` workers, both closed with ``scope``."""
    cluster = scope.enter_context(local_cluster(distributed, jobs))
    return scope.enter_context(distributed.Client(cluster))


def _finished(distributed: ModuleType, pending: dict[Any, str]) -> list[Any]:
    """The futures done now, after waiting a moment for one (so a stop is seen soon)."""
    try:
        return list(
            distributed.wait(list(pending), timeout=0.2, return_when="FIRST_COMPLETED").done
        )
    except TimeoutError:
        return []


def run_task(root: str, name: str, key: str) -> RunResult | None:
    """What a Dask worker runs: take queued run ``name`` and run it (None: taken elsewhere).

    None too when the driver stopped this task (``key``) before it began.
    """
    from gitexp.experiments.run.executors.local import run_named

    with registered(key) as stop:
        if stop is None:
            return None
        project = Project.open(Path(root))
        try:
            return run_named(project, name, None, stop, owner=key)
        except Interrupted:  # stopped before its command began: it stays queued
            return None


def local_cluster(distributed: ModuleType, jobs: int) -> Any:
    """A cluster of ``jobs`` single-threaded worker processes on this machine, quiet.

    No dashboard is wanted, but the scheduler's HTTP server starts anyway, on 8787
    unless told otherwise: any free loopback port, so two clusters never collide.
    """
    return distributed.LocalCluster(
        n_workers=jobs,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.CRITICAL,  # the cluster's chatter is not the user's output
    )


def distributed_module() -> ModuleType:
    """Dask's ``distributed``; `MissingExtraError` saying what to install when it is absent."""
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError(
            "the dask executor needs Dask's distributed, which is not installed",
            hint="pip install 'gitexp[dask]'",
        ) from exc
    return distributed
