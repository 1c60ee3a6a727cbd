"""A search's trials on an existing Dask cluster (``--executor dask://HOST:PORT``).

The driver keeps the study (ask and tell), as on every executor; only where a trial
runs changes. Each trial it asks for is queued as a commit whose ``run.json``
carries the trial (its ``sweep`` field), then run the way the cluster runs any
queued run (`cluster.start_cluster`, one trial a call, on one client): claimed here,
pushed to the git remote, run by a worker in its own clone, recorded there
create-only, fetched back and told. So a trial is recorded once whatever happens to
a worker. A driver killed mid-search leaves its trials queued or claimed here;
``--resume`` runs those first (`finish_leftovers`), adopting what the workers
recorded meanwhile, so no trial is run again.

Pruning: a trial's run folder is on its worker. The task a worker runs for a trial
of a pruning sweep (`trial_task`) relays each goal step the trial logs to the
driver through a Dask `Queue`, and the driver's verdict back through another,
written where the trial's ``should_prune()`` reads it (`pruning`).
"""

from __future__ import annotations

import contextlib
import functools
import re
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from gitexp.core.config import ProjectConfig
from gitexp.core.names import QUEUE_REF_PREFIX, ExperimentName
from gitexp.errors import ConflictError, GitexpError, Interrupted
from gitexp.experiments.run import pruning
from gitexp.experiments.run.executors.cluster import (
    connect,
    git_remote_url,
    scheduler_address,
    start_cluster,
    storage_settings,
)
from gitexp.experiments.run.executors.dask import distributed_module
from gitexp.experiments.run.executors.worker import Outcome, Task, run_task, task_repository
from gitexp.experiments.run.queue import enqueue, list_queue, queued_record
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.request import RunRequest
from gitexp.experiments.run.runner import Notify
from gitexp.experiments.run.sweepbatch import Batches
from gitexp.experiments.run.sweeporphans import wait_for_orphans
from gitexp.git import transport
from gitexp.git.refs import delete_refs, read_ref
from gitexp.project import Project

Verdict = Callable[[int, float], bool]
"""The driver's side of pruning: report a trial's value at a step; True to stop it."""
WAIT_S = 0.1
"""How long a relay waits on a Dask queue before it looks at its trial again."""


class ClusterTrials:
    """Runs a search's trials on the scheduler at ``executor``, one queued run each."""

    def __init__(
        self,
        project: Project,
        executor: str,
        jobs: int,
        trial_names: list[str],
        notify: Notify | None = None,
        git_remote: str | None = None,
    ) -> None:
        scheduler_address(executor)
        self.git_remote = git_remote
        self.git_url = git_remote_url(project, git_remote)
        storage_settings(project)  # the remote the workers need, checked before anything moves
        self.project, self.executor, self.notify = project, executor, notify
        self.distributed = distributed_module()
        self.client = connect(executor)
        try:
            _check_free_there(project, self.git_url, trial_names)
        except BaseException:
            self.client.close()
            raise
        self.channel = f"gitexp-prune-{secrets.token_hex(4)}"
        threads = sum(self.client.nthreads().values())
        self.slots = max(jobs, threads, 1)
        """How many trials go at once: one per worker thread, or ``-j`` if more."""
        self.lock = threading.Lock()
        self.batches: Batches | None = None

    def run(
        self, request: RunRequest, env: Mapping[str, str], stop: threading.Event
    ) -> RunResult | None:
        """Run one trial on the cluster; its result, or None when stopped before it began.

        The trials asked for together go as one batch (`sweepbatch`). ``env`` is the
        driver's: a worker runs the trial in its own environment.
        """
        del env
        name = str(request.name)
        enqueue(self.project, request.command, request.overrides, name, sweep=request.sweep)
        with self.lock:
            if self.batches is None:  # every trial of a search prunes, or none does
                run_batch = functools.partial(self._run_batch, self._task(request), stop)
                self.batches = Batches(run_batch, stop, self.slots)
        result = self.batches.run(name)
        if result is None and not stop.is_set():
            raise GitexpError(
                f"trial '{name}' was taken by another `gitexp queue start`",
                hint=f"continue the sweep with `gitexp run -n {name.rpartition('-')[0]} --resume`",
            )
        return result

    def _task(self, request: RunRequest) -> Callable[[Task], Outcome]:
        """What a worker runs for the search's trials: with their steps relayed, if it prunes."""
        if not (request.sweep and request.sweep.get("prune")):
            return run_task
        goal = request.sweep.get("goal")
        key = str(goal.get("key")) if isinstance(goal, dict) else ""
        return functools.partial(trial_task, channel=self.channel, goal=key)

    def _run_batch(
        self,
        task: Callable[[Task], Outcome],
        stop: threading.Event,
        names: Sequence[str],
        on_result: Callable[[RunResult], None],
    ) -> None:
        """Run queued trials ``names`` as one batch; those not run are not left queued."""
        try:
            start_cluster(
                self.project, self.executor, names, notify=self.notify, on_result=on_result,
                stop=stop, client=self.client, task=task, git_remote=self.git_remote,
            )  # fmt: skip
        except Interrupted:
            pass  # the trials stopped were recorded and handed over; the others did not run
        finally:
            for name in names:
                _drop_queued(self.project, name)  # not run (stopped, or failed): not a trial

    def watch(self, name: str, verdict: Verdict) -> _RelayWatch:
        """Answer trial ``name``'s ``should_prune()`` from here, through the scheduler."""
        return _RelayWatch(self.distributed, self.client, f"{self.channel}-{name}", verdict)

    def close(self) -> None:
        """Let go of the scheduler (the cluster runs on), once every batch has."""
        if self.batches is not None:
            self.batches.close()
        self.client.close()


def _check_free_there(project: Project, git_url: str, names: list[str]) -> None:
    """`ConflictError` when the git remote has an experiment a new trial would be named as.

    A worker adopts an experiment it finds recorded there under its run's name, so a
    trial of that name would take another run's result.
    """
    if not names:
        return
    stem = names[0].rpartition("-")[0]
    there = transport.ls_remote(project.git, git_url, ExperimentName(stem).ref + "-")
    taken = [n for n in names if ExperimentName(n).ref in there]
    if taken:
        raise ConflictError(
            f"experiment '{taken[0]}' exists on the git remote, not here: a trial of that "
            "name would take its result",
            hint=f"pull them with `gitexp pull REMOTE {' '.join(taken[:3])}` and resume, "
            "or pick another -n",
        )


def _drop_queued(project: Project, name: str) -> None:
    commit = read_ref(project.git, QUEUE_REF_PREFIX + name)
    if commit is not None:
        with contextlib.suppress(GitexpError):
            delete_refs(project.git, [(QUEUE_REF_PREFIX + name, commit)])


_NUMBERED = re.compile(r"^(?P<name>.+)-[1-9][0-9]*$")


def finish_leftovers(
    project: Project,
    executor: str,
    sweep: str,
    *,
    notify: Notify | None = None,
    stop: threading.Event | None = None,
    git_remote: str | None = None,
) -> list[RunResult]:
    """Run (or adopt) sweep ``sweep``'s trials that a killed driver left queued or claimed.

    Their points were asked for already; each is recorded once, as the cluster records
    any queued run: one its worker recorded meanwhile is fetched, not run again. A
    trial the killed driver's task still runs on a worker is waited for first
    (`sweeporphans`), so that it is adopted once it ends rather than run twice.
    Raises `Interrupted` when ``stop`` is set while waiting.
    """
    names = _leftovers(project, sweep)
    if not names:
        return []
    stop = stop or threading.Event()
    client = connect(executor)
    try:
        if notify is not None:
            notify(f"finishing {len(names)} trial(s) a stopped driver left: {', '.join(names)}")
        git_url = git_remote_url(project, git_remote)
        wait_for_orphans(project, client, git_url, names, notify, stop)
        return start_cluster(
            project, executor, names, notify=notify, stop=stop, client=client,
            git_remote=git_remote,
        )  # fmt: skip
    finally:
        client.close()


def _leftovers(project: Project, sweep: str) -> list[str]:
    """The names of sweep ``sweep``'s trials queued or claimed here, not recorded."""
    names = []
    for run in list_queue(project):
        match = _NUMBERED.match(run.name)
        if match is None or match.group("name") != sweep:
            continue
        with contextlib.suppress(GitexpError):
            info = queued_record(project, run.commit, run.name).sweep or {}
            if info.get("name") == sweep:
                names.append(run.name)
    return names


class _RelayWatch:
    """The driver's side of a trial's pruning: steps in from its worker, verdicts out."""

    def __init__(self, distributed: Any, client: Any, channel: str, verdict: Verdict) -> None:
        self.steps = distributed.Queue(f"{channel}-steps", client=client)
        self.answers = distributed.Queue(f"{channel}-answers", client=client)
        self.verdict = verdict
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name=channel, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.done.set()
        self.thread.join()
        for queue in (self.steps, self.answers):
            with contextlib.suppress(Exception):  # a scheduler gone has nothing to release
                queue.close()

    def _watch(self) -> None:
        while not self.done.is_set():
            try:
                step, value = self.steps.get(timeout=WAIT_S)
            except TimeoutError:
                continue
            except Exception:  # the scheduler went away: nothing more will come
                return
            prune = self.verdict(int(step), float(value))
            with contextlib.suppress(Exception):
                self.answers.put([step, prune])


def trial_task(task: Task, channel: str, goal: str) -> Outcome:
    """What a worker runs for a trial of a pruning sweep: the run, with its steps relayed.

    The run itself is `run_task`'s (recorded once, adopted on a retry); beside it, a
    thread sends each ``goal`` step the trial logs to the driver and writes back
    the driver's verdict, so the trial's ``should_prune()`` hears it.
    """
    distributed = distributed_module()
    client = distributed.get_client()  # made here, where the worker's client is known
    queues = tuple(
        distributed.Queue(f"{channel}-{task.name}-{end}", client=client)
        for end in ("steps", "answers")
    )
    runs = Project(task_repository(task), ProjectConfig()).layout.runs
    relay = _Relay(runs, task.name, goal, queues)
    try:
        return run_task(task)
    finally:
        relay.close()
        for queue in queues:
            with contextlib.suppress(Exception):
                queue.close()


class _Relay:
    """The worker's side: the trial's goal steps to the driver, its verdicts to the trial."""

    def __init__(self, runs: Path, name: str, goal: str, queues: tuple[Any, Any]) -> None:
        self.runs, self.name, self.goal = runs, name, goal
        self.steps, self.answers = queues
        self.before = set(self._folders())  # a killed attempt's folder is not this trial's
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._relay, name=f"relay-{name}", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.done.set()
        self.thread.join()

    def _folders(self) -> list[Path]:
        with contextlib.suppress(OSError):
            return list(self.runs.glob(f"{self.name}-*"))
        return []

    def _folder(self) -> Path | None:
        for folder in self._folders():
            if folder not in self.before and (folder / "context.json").exists():
                return folder
        return None

    def _relay(self) -> None:
        folder: Path | None = None
        seen = 0
        waiting = 0
        while not self.done.wait(0.02):
            folder = folder or self._folder()
            if folder is None:
                continue
            rows = list(pruning.read_steps(folder, self.goal))
            try:
                for step, value in rows[seen:]:
                    self.steps.put([step, value])
                    waiting += 1
                seen = max(seen, len(rows))
                while waiting:
                    step, prune = self.answers.get(timeout=WAIT_S)
                    waiting -= 1
                    with contextlib.suppress(OSError):  # the run ended and its folder went
                        pruning.answer(folder, float(step), bool(prune))
            except TimeoutError:
                continue
            except Exception:  # the scheduler went away: the trial runs on unpruned
                return
