"""A search's trials as tasks on a local Dask cluster (``--executor dask``).

The driver keeps the study (ask and tell) and its threads, as on the local executor;
only where a trial runs changes: each is one task, which runs the trial in an
isolated worktree of the same repository (``gitexp run`` of one point, with its
``sweep`` field) on a worker process. A ``stop`` on the driver (Ctrl-C) sets a Dask
`Event` that each task watches, so its trial stops and is recorded ``interrupted``
there, as a local one is. A task Dask runs again (its worker died) finds the trial
recorded already and adopts it, or finds it recorded ``crashed`` and runs it again
in its place: each trial is recorded once. Needs ``pip install 'gitexp[dask]'``.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gitexp.core.names import ExperimentName
from gitexp.core.runinfo import RUN_JSON, parse_run_json
from gitexp.errors import Interrupted
from gitexp.experiments.run.crashed import recover
from gitexp.experiments.run.executors.dask import distributed_module, local_cluster
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.request import RunRequest, run
from gitexp.git.refs import read_ref
from gitexp.project import Project

WAIT_S = 0.2
"""How often a waiting driver thread, or a task's stop watch, looks again."""


class DaskTrials:
    """A local cluster of ``jobs`` single-threaded workers that run trials, one task each."""

    def __init__(self, project: Project, jobs: int) -> None:
        distributed = distributed_module()
        self.root = str(project.root)
        self.token = secrets.token_hex(4)
        self.cluster = local_cluster(distributed, jobs)
        self.client = distributed.Client(self.cluster)
        self.stop_event = distributed.Event(f"gitexp-stop-{self.token}", client=self.client)
        self.stopped = False
        self.slots = jobs
        """How many trials go at once: one per worker."""

    def run(
        self, request: RunRequest, env: Mapping[str, str], stop: threading.Event
    ) -> RunResult | None:
        """Run one trial on a worker; its result, or None when it was stopped before it began."""
        future = self.client.submit(
            trial_task,
            self.root,
            request,
            dict(env),
            f"gitexp-stop-{self.token}",
            key=f"gitexp-trial-{request.name}-{self.token}",
            pure=False,
        )
        while True:
            with contextlib.suppress(TimeoutError):
                result: RunResult | None = future.result(timeout=WAIT_S)
                return result
            if stop.is_set() and not self.stopped:
                self.stopped = True
                self.stop_event.set()

    def watch(self, name: str, verdict: Callable[[int, float], bool]) -> None:
        """None: the trials' run folders are on this machine, where the driver watches them."""
        del name, verdict

    def close(self) -> None:
        """Close the client and the cluster (its workers end)."""
        self.client.close()
        self.cluster.close()


def trial_task(
    root: str, request: RunRequest, env: dict[str, str], stop_name: str
) -> RunResult | None:
    """What a worker runs: one trial, recorded once however often Dask runs this task."""
    project = Project.open(Path(root))
    name = str(request.name)
    recover(project)  # an earlier attempt whose worker died is recorded crashed now
    done = read_ref(project.git, ExperimentName(name).ref)
    if done is not None:
        status = _trial_status(project, done, request)
        if status is not None and status != "crashed":
            return _adopted(project, name, done, status)
        if status == "crashed":  # the attempt before died: this one takes its place
            request = _forced(request)
    stop = threading.Event()
    finished = threading.Event()
    # made here, where the worker's client is known; the watch thread only waits on it
    distributed = distributed_module()
    event = distributed.Event(stop_name, client=distributed.get_client())
    watch = threading.Thread(target=_watch_stop, args=(event, stop, finished), daemon=True)
    watch.start()
    recorded: list[RunResult] = []
    try:
        run(project, request, on_result=recorded.append, env=env, stop=stop)
    except Interrupted:
        pass  # recorded interrupted (or stopped before it began): the driver tells the study
    finally:
        finished.set()
        watch.join()  # a wait still open when the cluster closes would print its failure
    return recorded[0] if recorded else None


def _watch_stop(event: Any, stop: threading.Event, finished: threading.Event) -> None:
    """Set ``stop`` once the driver sets the Dask event; end when the trial has.

    A scheduler that went away can no longer say stop: the watch ends quietly and the
    trial runs on to its record.
    """
    while not finished.is_set():
        try:
            heard = event.wait(timeout=WAIT_S)
        except Exception:  # any failure of the connection: nothing more to hear
            return
        if heard:
            stop.set()
            return


def _trial_status(project: Project, commit: str, request: RunRequest) -> str | None:
    """The recorded status of ``commit`` when it is this very trial; None when it is not."""
    data = project.git.read_blob(project.git.lookup_commit(commit).tree, RUN_JSON)
    if data is None:
        return None
    record = parse_run_json(data, f"experiment '{request.name}'")
    info, want = record.sweep or {}, request.sweep or {}
    same = info.get("name") == want.get("name") and info.get("trial") == want.get("trial")
    return record.status if same else None


def _adopted(project: Project, name: str, commit: str, status: str) -> RunResult:
    data = project.git.read_blob(project.git.lookup_commit(commit).tree, RUN_JSON) or b""
    record = parse_run_json(data, f"experiment '{name}'")
    ref = ExperimentName(name).ref
    return RunResult(name, ref, commit, status, record.exit_code, record.duration_s)


def _forced(request: RunRequest) -> RunRequest:
    import dataclasses

    return dataclasses.replace(request, force=True)
