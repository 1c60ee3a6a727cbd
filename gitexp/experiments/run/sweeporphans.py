"""A resumed search's wait for the trials a killed driver's tasks still run on workers.

A driver killed outright leaves its trials' tasks running on the cluster's
workers: each goes on to record its trial on the git remote. A resumed driver
waits for them (`wait_for_orphans`) and adopts what they record, so no trial runs
twice. The wait is bounded both ways: a trial still running after
`ORPHAN_LIMIT_S` is ended on its worker (and recorded as it ended by its own
task), and a worker that does not answer within `PROBE_S` is taken to run
nothing, so its trials run again (recorded once all the same: the git remote
takes each experiment's ref create-only).
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from gitexp.core.config import ProjectConfig
from gitexp.core.names import EXPERIMENT_REF_PREFIX, ExperimentName
from gitexp.errors import Interrupted
from gitexp.experiments.run.executors.orphans import end_command
from gitexp.experiments.run.executors.worker import Task, in_flight, task_repository
from gitexp.experiments.run.journal import Journal, journals
from gitexp.experiments.run.runner import Notify
from gitexp.git import transport
from gitexp.project import Project

PROBE_S = 10.0
"""How long a worker has to say which trials it runs before it is taken to run none."""
ORPHAN_WAIT_S = 0.5
"""How often a resumed driver asks the workers whether a stopped driver's trials still run."""
ORPHAN_LIMIT_S = 600.0
"""How long a resumed driver waits for those trials; past it, they are ended on their workers."""
RECORD_WAIT_S = 60.0
"""How long a trial ended so is given to be recorded by its task before it runs again."""


def wait_for_orphans(
    project: Project,
    client: Any,
    git_url: str,
    names: list[str],
    notify: Notify | None,
    stop: threading.Event,
) -> None:
    """Wait while any of ``names`` runs on a worker (a task whose driver was killed goes on).

    Bounded by `ORPHAN_LIMIT_S`: a trial still running then (hung, or slower than
    any wait is worth) is ended on its worker, and recorded as it ended by its own
    task (failed), which this driver then adopts. A worker that is gone runs
    nothing and is not waited for: its trials run again. A trial is run by one task
    at a time and recorded once: the git remote takes its ref create-only.
    """
    probe = Task("", "", "", git_url, {})
    deadline = time.monotonic() + ORPHAN_LIMIT_S
    said = False
    while running := _running(client, probe, names):
        if time.monotonic() >= deadline:
            _end(project, client, probe, running, notify, stop)
            return
        if not said and notify is not None:
            said = True
            notify(
                f"waiting for {', '.join(running)}: still running on the cluster, started by "
                f"the stopped driver; each is adopted once it ends (at most {ORPHAN_LIMIT_S:g}s)"
            )
        if stop.wait(ORPHAN_WAIT_S):
            raise Interrupted("interrupted while waiting; continue with --resume")


def _running(client: Any, probe: Task, names: list[str]) -> list[str]:
    """Which of ``names`` a worker runs now; a worker silent for `PROBE_S` is taken to run none.

    A worker that does not answer (stopped, hung, cut off from the scheduler) would
    hold a resume for ever: its trials run again instead, and the git remote, which
    takes each experiment's ref create-only, keeps one record of each.
    """
    answers: list[object] = []
    lock = threading.Lock()

    def ask(worker: str) -> None:
        with contextlib.suppress(Exception):  # a worker gone meanwhile runs nothing
            answer = client.run(running_here, probe, names, workers=[worker])
            with lock:
                answers.extend(answer.values())

    asking = [threading.Thread(target=ask, args=(w,), daemon=True) for w in client.nthreads()]
    for thread in asking:
        thread.start()
    deadline = time.monotonic() + PROBE_S
    for thread in asking:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:  # what came in time; a late answer is not waited for
        found = [n for there in answers if isinstance(there, list) for n in there]
    return sorted(set(found))


def _end(
    project: Project,
    client: Any,
    probe: Task,
    running: list[str],
    notify: Notify | None,
    stop: threading.Event,
) -> None:
    """End ``running`` on their workers, then wait a while for their tasks to record them."""
    if notify is not None:
        notify(
            f"{', '.join(running)} still running after {ORPHAN_LIMIT_S:g}s: ended on the "
            "cluster, recorded as it ended"
        )
    client.run(end_here, probe, running, on_error="return")
    deadline = time.monotonic() + RECORD_WAIT_S
    while time.monotonic() < deadline:
        there = transport.ls_remote(project.git, probe.git_url, EXPERIMENT_REF_PREFIX)
        if all(ExperimentName(n).ref in there for n in running):
            return
        if stop.wait(ORPHAN_WAIT_S):
            raise Interrupted("interrupted while waiting; continue with --resume")


def running_here(probe: Task, names: list[str], dask_worker: Any = None) -> list[str]:
    """On a worker (``client.run``): which of ``names`` run now in its repository for the remote.

    A run goes on while its command does (its journal says so, even after a killed
    worker process), and after it, while its task pushes its data and ref.
    ``client.run`` hands in ``dask_worker``: no task runs to say which worker this is.
    """
    running = {j.name for j in _journals(probe, names, dask_worker)}
    return sorted(running | in_flight(probe.git_url, names))


def end_here(probe: Task, names: list[str], dask_worker: Any = None) -> list[str]:
    """On a worker (``client.run``): end the commands of ``names`` running here; those ended."""
    return sorted({j.name for j in _journals(probe, names, dask_worker) if end_command(j.folder)})


def _journals(probe: Task, names: list[str], dask_worker: Any) -> list[Journal]:
    where = None if dask_worker is None else str(dask_worker.local_directory)
    runs = Project(task_repository(probe, where), ProjectConfig()).layout.runs
    return [j for j in journals(runs) if j.name in names and j.alive()]
