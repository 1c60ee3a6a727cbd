"""``gitexp run`` with search spaces: an Optuna study on the driver, ask and tell.

The driver (this process) holds the study; each trial is a normal ``gitexp run``
of one point, recorded as ``NAME-<number>`` with ``sweep`` in its ``run.json``, and
never imports Optuna. ``-j N`` runs N trials at a time in isolated worktrees, each
asked for when a slot frees, so an adaptive sampler learns from every trial told
before it. With ``--prune``, a watch per trial reads the goal's steps from the run
folder and answers the trial's ``should_prune()`` (see `pruning`).

Every trial counts toward ``--trials`` whatever its status. Ctrl-C (``stop``)
stops the running trials (recorded ``interrupted``), asks for no more and raises
`Interrupted` once they are recorded.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gitexp.core.params import format_value
from gitexp.core.search import SweepOptions
from gitexp.errors import Interrupted, UsageError
from gitexp.experiments.query.summary import Reader
from gitexp.experiments.run import pruning
from gitexp.experiments.run.crashed import recover
from gitexp.experiments.run.process import OutputSink
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.request import RunRequest, run
from gitexp.experiments.run.runner import Notify
from gitexp.experiments.run.sweeplock import held
from gitexp.experiments.run.sweepplan import SweepPlan, goal_value, new_plan, resume_plan
from gitexp.experiments.run.sweepspace import Codec, TriedPoints
from gitexp.experiments.run.sweepstudy import build_study, trial_state
from gitexp.project import Project

if TYPE_CHECKING:
    import optuna

Verdict = Callable[[int, float], bool]
"""Pruning on the driver: report a trial's goal value at a step; True to stop the trial."""


@dataclass(frozen=True)
class SweepRequest:
    """What ``gitexp run`` with a search space was asked to do."""

    command: Sequence[str] | None
    overrides: Sequence[str]
    name: str | None
    options: SweepOptions
    jobs: int = 1
    message: str | None = None
    force: bool = False
    cwd: Path | None = None
    executor: str = "local"
    """Where trials run: ``local`` (this machine; worktrees with ``-j``) or ``dask``."""
    git_remote: str | None = None
    """The git remote a ``dask://`` cluster's workers use (default: origin, as for push)."""


@dataclass(frozen=True)
class Callbacks:
    """Where a sweep reports: the first trial's output, notes, and each recorded trial."""

    on_output: OutputSink | None = None
    notify: Notify | None = None
    on_result: Callable[[RunResult], None] | None = None


def run_sweep(
    project: Project,
    request: SweepRequest,
    callbacks: Callbacks,
    *,
    env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> list[RunResult]:
    """Run the search; one result per trial run now, by trial number.

    A resumed search on a cluster first finishes (or adopts) the trials a killed
    driver left; their results come first.

    Checks everything first (`new_plan` or `resume_plan`): a bad space is a
    `UsageError`, an unknown key a `ParamsError`, a sweep with no goal a
    `GoalError`. Raises `Interrupted` after a stop, once the running trials are
    recorded; any other error in a trial stops the others and is raised.
    """
    request.options.check()
    _check_where(request)
    with contextlib.ExitStack() as scope:
        if request.name is not None:  # before anything is looked at: one driver a sweep
            scope.enter_context(held(project, request.name))
        return _run_sweep(project, request, callbacks, scope, env, stop)


def _run_sweep(
    project: Project,
    request: SweepRequest,
    callbacks: Callbacks,
    scope: contextlib.ExitStack,
    env: Mapping[str, str] | None,
    stop: threading.Event | None,
) -> list[RunResult]:
    left: list[RunResult] = []  # a killed driver's trials, finished first: counted too
    if request.options.resume:
        for message in recover(project):  # a killed driver's last trials: recorded crashed
            if callbacks.notify is not None:
                callbacks.notify(message)
        left = _finish_leftovers(project, request, callbacks, stop)
        plan = resume_plan(project, request.overrides, request.name, request.options)
    else:
        plan = new_plan(project, request.overrides, request.name, request.options, request.force)
        if request.name is None:
            scope.enter_context(held(project, plan.name))
    if not plan.numbers and callbacks.notify is not None:
        callbacks.notify(
            f"sweep '{plan.name}' has run all its {plan.trials} trials; "
            "nothing to do (pass --trials N for more)"
        )
    study = build_study(plan)
    driver = _Driver(project, plan, study, request, callbacks, env, stop or threading.Event())
    if request.executor == "local" or not plan.numbers:
        return [*left, *driver.run()]
    driver.cluster = _trials(project, request, plan, callbacks)
    try:
        return [*left, *driver.run()]
    finally:
        driver.cluster.close()


class Trials(Protocol):
    """Where a search's trials run when not here: a Dask cluster."""

    slots: int
    """How many trials go at once."""

    def run(
        self, request: RunRequest, env: Mapping[str, str], stop: threading.Event
    ) -> RunResult | None:
        """Run one trial; its result, or None when stopped before it began."""

    def watch(self, name: str, verdict: Verdict) -> Closable | None:
        """Answer trial ``name``'s ``should_prune()``; None: its folder is on this machine."""

    def close(self) -> None:
        """Let go of the cluster."""


class Closable(Protocol):
    """A watch that ends when closed."""

    def close(self) -> None:
        """Stop watching."""


def _trials(
    project: Project, request: SweepRequest, plan: SweepPlan, callbacks: Callbacks
) -> Trials:
    if request.executor.startswith("dask://"):
        from gitexp.experiments.run.sweepcluster import ClusterTrials

        names = [plan.trial_name(n) for n in plan.numbers]
        return ClusterTrials(
            project, request.executor, request.jobs, names, callbacks.notify, request.git_remote
        )
    from gitexp.experiments.run.sweepdask import DaskTrials

    return DaskTrials(project, request.jobs)


def _finish_leftovers(
    project: Project,
    request: SweepRequest,
    callbacks: Callbacks,
    stop: threading.Event | None,
) -> list[RunResult]:
    """On a cluster, the trials a killed driver left queued or claimed: run or adopted first."""
    if not request.executor.startswith("dask://") or request.name is None:
        return []
    from gitexp.experiments.run.sweepcluster import finish_leftovers

    results = finish_leftovers(
        project, request.executor, request.name, notify=callbacks.notify, stop=stop,
        git_remote=request.git_remote,
    )  # fmt: skip
    for result in results:
        if callbacks.on_result is not None:
            callbacks.on_result(result)
    return results


def _check_where(request: SweepRequest) -> None:
    """`UsageError` for ``-j`` below one or an executor a search cannot use."""
    if request.jobs < 1:
        raise UsageError("-j needs a number of jobs from 1 up")
    from gitexp.experiments.run.executors import check_git_remote

    check_git_remote(request.executor, request.git_remote)
    if request.executor.startswith("dask://"):
        if request.force:
            raise UsageError(
                "--force cannot replace a sweep's trials on a Dask cluster: the git remote "
                "keeps each experiment it recorded",
                hint="pick another -n, or continue this sweep with --resume",
            )
        return
    if request.executor not in ("local", "dask"):
        raise UsageError(
            f"unknown executor '{request.executor}'",
            hint="use --executor local, dask or dask://HOST:PORT",
        )


class _Driver:
    """Asks, runs and tells, ``jobs`` trials at a time."""

    def __init__(
        self,
        project: Project,
        plan: SweepPlan,
        study: optuna.Study,
        request: SweepRequest,
        callbacks: Callbacks,
        env: Mapping[str, str] | None,
        stop: threading.Event,
    ) -> None:
        self.project, self.plan, self.study = project, plan, study
        self.request, self.callbacks, self.stop = request, callbacks, stop
        self.lock = threading.Lock()
        self.numbers = deque(plan.numbers)
        self.results: dict[int, RunResult] = {}
        self.codecs = {k.label: Codec(k.dimension) for k in plan.keys}
        self.dists = {label: codec.distribution() for label, codec in self.codecs.items()}
        self.env = dict(os.environ if env is None else env)
        if plan.prune:
            self.env[pruning.ENV_PRUNE] = plan.goal
        self.points = TriedPoints(plan)
        self.cluster: Trials | None = None

    def run(self) -> list[RunResult]:
        slots = self.request.jobs if self.cluster is None else self.cluster.slots
        workers = max(1, min(slots, len(self.numbers)))
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(self._work) for _ in range(workers)]
            for future in futures:
                try:
                    future.result()
                except BaseException as exc:
                    self.stop.set()
                    errors.append(exc)
        failure = next((e for e in errors if not isinstance(e, Interrupted)), None)
        if failure is not None:
            raise failure
        if errors or (self.stop.is_set() and (self.numbers or self._interrupted())):
            raise Interrupted(self._interrupted_message())
        return [self.results[n] for n in sorted(self.results)]

    def _interrupted(self) -> list[str]:
        return [r.name for r in self.results.values() if r.status == "interrupted"]

    def _interrupted_message(self) -> str:
        left = f"; {len(self.numbers)} trial(s) not started" if self.numbers else ""
        return (
            f"interrupted{left}; continue the sweep with `gitexp run -n {self.plan.name} --resume`"
        )

    def _work(self) -> None:
        while not self.stop.is_set():
            with self.lock:
                if not self.numbers:
                    return
                number = self.numbers.popleft()
                trial = self._ask()
            self._trial(number, trial)

    def _ask(self) -> optuna.Trial:
        """A trial at a point this sweep has not tried, while a finite space has one left.

        A point drawn again is told failed (which teaches the sampler nothing) and
        the sampler asked again; one that keeps drawing tried points gets an untried
        point, chosen by the seed, to evaluate instead. Called under ``lock``.
        """
        for _ in range(ASK_AGAIN):
            trial = self.study.ask(self.dists)
            values = {label: self._decode(label, v) for label, v in trial.params.items()}
            if self.points.take(values):
                return trial
            self.study.tell(trial, state=trial_state("FAIL"))
        untried = self.points.untried()
        if untried is not None:
            self.study.enqueue_trial(
                {label: self.codecs[label].encode(v) for label, v in untried.items()}
            )
            self.points.take(untried)
        return self.study.ask(self.dists)

    def _trial(self, number: int, trial: optuna.Trial) -> None:
        values = {label: self._decode(label, v) for label, v in trial.params.items()}
        plan = self.plan
        if self.callbacks.notify is not None:
            shown = " ".join(f"{k}={format_value(v)}" for k, v in values.items())
            self.callbacks.notify(
                f"trial {number}/{plan.trials} ({plan.trial_name(number)}) started: {shown}"
            )
        overrides = [*plan.fixed, *(k.override(values[k.label]) for k in plan.keys)]
        request = RunRequest(
            command=plan.command or self.request.command,
            overrides=overrides,
            name=plan.trial_name(number),
            message=self.request.message,
            force=self.request.force,
            cwd=self.request.cwd,
            jobs=2 if self.request.jobs > 1 or self.request.executor != "local" else 1,
            sweep=plan.trial_info(number, values),
        )
        watch = self._watch(plan.trial_name(number), trial) if plan.prune else None
        try:
            result = self._run_trial(request)
        except BaseException:
            with self.lock:
                self.study.tell(trial, state=trial_state("FAIL"))
            raise
        finally:
            if watch is not None:
                watch.close()
        self._tell(trial, number, result)

    def _watch(self, name: str, trial: optuna.Trial) -> Closable:
        """What answers trial ``name``'s ``should_prune()``: a watch of its run folder."""
        reported: set[int] = set()

        def verdict(step: int, value: float) -> bool:
            with self.lock:
                if step not in reported:  # a step logged twice is reported once
                    reported.add(step)
                    trial.report(value, step)
                return bool(trial.should_prune())

        remote = None if self.cluster is None else self.cluster.watch(name, verdict)
        return remote or _PruneWatch(self.project.layout.runs, name, self.plan.goal, verdict)

    def _run_trial(self, request: RunRequest) -> RunResult:
        """Run one trial here, or as a task on the Dask cluster; its recorded result."""
        if self.cluster is None:
            return run(
                self.project,
                request,
                on_output=self.callbacks.on_output if self.request.jobs == 1 else None,
                notify=self.callbacks.notify,
                on_result=self.callbacks.on_result,
                env=self.env,
                stop=self.stop,
            )[0]
        result = self.cluster.run(request, self.env, self.stop)
        if result is None:
            raise Interrupted(f"interrupted before experiment '{request.name}' started")
        if self.callbacks.on_result is not None:
            self.callbacks.on_result(result)
        return result

    def _decode(self, label: str, value: object) -> object:
        return self.codecs[label].decode(value)

    def _tell(self, trial: optuna.Trial, number: int, result: RunResult) -> None:
        value = None
        if result.status == "success":
            metrics = Reader(self.project.git).summary(result.commit).get("metrics")
            value = goal_value(metrics, self.plan.goal)
        with self.lock:
            self.results[number] = result
            if value is not None:
                self.study.tell(trial, value)
            elif result.status == "pruned":
                self.study.tell(trial, state=trial_state("PRUNED"))
            else:
                self.study.tell(trial, state=trial_state("FAIL"))


ASK_AGAIN = 30
"""How often a point already tried is drawn again before an untried one is chosen."""


class _PruneWatch:
    """Reads one trial's goal steps as they are logged here and answers ``should_prune``."""

    def __init__(self, runs: Path, name: str, goal: str, verdict: Verdict) -> None:
        self.runs, self.name, self.goal, self.verdict = runs, name, goal, verdict
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, name=f"prune-{name}", daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        folder: Path | None = None
        seen = 0
        while not self.done.wait(0.01):
            folder = folder or pruning.find_run_dir(self.runs, self.name)
            if folder is None:
                continue
            rows = list(pruning.read_steps(folder, self.goal))
            for step, value in rows[seen:]:
                prune = self.verdict(int(step), value)
                with contextlib.suppress(OSError):  # the run ended and its folder went
                    pruning.answer(folder, step, prune)
                if prune:
                    return
            seen = len(rows)
