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

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from gitexp.errors import Interrupted, MissingExtraError
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
) -> list[RunResult]:
    """Run the runs queued now on a local cluster of ``jobs`` workers; their results.

    On a stop, tasks not started are cancelled and the cluster is closed (its
    workers' runs end with them); `Interrupted` is raised.
    """
    distributed = distributed_module()
    stop = stop or threading.Event()
    names = [run.name for run in list_queue(project) if run.status == "queued"]
    if only is not None:
        names = [name for name in names if name in only]
    results: list[RunResult] = []
    with (
        distributed.LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # the cluster's chatter is not the user's output
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        futures = [
            client.submit(run_task, str(project.root), name, key=f"gitexp-{name}", pure=False)
            for name in names
        ]
        pending = distributed.as_completed(futures)
        for future in pending:
            if stop.is_set():
                client.cancel(futures)
                raise Interrupted("interrupted; the runs not started stay queued")
            result = future.result()
            if result is not None:
                results.append(result)
                if on_result is not None:
                    on_result(result)
    if notify is not None and len(results) < len(names):
        notify(f"{len(names) - len(results)} run(s) were taken by another `queue start`")
    return results


def run_task(root: str, name: str) -> RunResult | None:
    """What a Dask worker runs: take queued run ``name`` and run it (None: taken elsewhere)."""
    from gitexp.experiments.run.executors.local import run_named

    project = Project.open(Path(root))
    return run_named(project, name, None, threading.Event())


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
