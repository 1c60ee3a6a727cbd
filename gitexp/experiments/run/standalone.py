"""``with gitexp.Experiment():`` — record one experiment from a notebook or a script."""

from __future__ import annotations

import os
import shutil
import sys
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from gitexp.core.formats import flatten
from gitexp.core.names import ExperimentName, check_name, generate_name
from gitexp.core.params import Override
from gitexp.core.runinfo import Status
from gitexp.errors import ConflictError
from gitexp.experiments.run import tracking
from gitexp.experiments.run.environment import installed_packages
from gitexp.experiments.run.overrides import ParamsPlan, plan_params
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Run
from gitexp.experiments.run.sysmetrics import Sampler, start_sampler
from gitexp.git.refs import read_ref
from gitexp.project import Project


class Experiment:
    """Record the code, params, metrics and artifacts of the block as one experiment.

    ``params`` are overrides of the first params file for this experiment only (keys
    that do not exist are added); the workspace files are not changed. Under
    ``gitexp run`` the block is part of that run and records nothing by itself.

    >>> with gitexp.Experiment(params={"train": {"lr": 0.01}}) as exp:  # doctest: +SKIP
    ...     exp.log_metric("acc", 0.93)
    >>> exp.result.name  # doctest: +SKIP
    'bold-lynx'
    """

    def __init__(
        self,
        name: str | None = None,
        params: Mapping[str, object] | None = None,
        *,
        path: str | Path = ".",
        message: str | None = None,
        force: bool = False,
    ) -> None:
        self.name = check_name(name) if name is not None else None
        self._params = dict(params or {})
        self._path = Path(path)
        self._message = message
        self._force = force
        self._nested = False
        self._previous: tracking.Session | None = None
        self.result: RunResult | None = None

    def __enter__(self) -> Experiment:
        if tracking.current_session().run_dir is not None:
            self._nested = True
            return self
        project = Project.open(self._path)
        base = project.git.head_commit()
        self.name = self.name or generate_name(
            lambda n: read_ref(project.git, ExperimentName(n).ref) is not None
        )
        if not self._force and read_ref(project.git, ExperimentName(self.name).ref):
            raise ConflictError(
                f"experiment '{self.name}' already exists",
                hint="pick another name, or pass force=True to replace it",
            )
        command = (sys.executable, *sys.argv)
        plan = _plan(project, self._params)
        self._run = Run.begin(
            project, self.name, base, command, plan, message=self._message, force=self._force
        )
        metrics_file = project.config.metrics[0] if project.config.metrics else None
        session = tracking.Session(
            root=project.root,
            params_files=list(project.config.params),
            metrics_file=metrics_file,
            run_dir=self._run.run_dir,
            params_override=self._params or None,
            metrics_before=self._run.watch.before.get(metrics_file) if metrics_file else None,
        )
        self._previous = tracking.current_session()
        tracking.set_session(session)
        self._sampler = _sample_this_process(project, self._run.run_dir)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._nested:
            return
        run = self._run
        try:
            self._sampler.stop()
            failed = exc_type is not None
            duration = time.monotonic() - run.clock
            status: Status = "failed" if failed else "success"
            record = run.record(status, 1 if failed else 0, installed_packages(), duration)
            self.result = run.finish(run.project.git, record, b"")
        finally:
            tracking.set_session(self._previous)
            shutil.rmtree(run.run_dir, ignore_errors=True)

    @property
    def params(self) -> dict[str, object]:
        """The params of this experiment: the files' values with the overrides applied."""
        return tracking.params()

    def log_metric(self, key: str, value: object, step: int | float | None = None) -> None:
        """See `gitexp.log_metric`."""
        tracking.log_metric(key, value, step)

    def log_metrics(self, values: Mapping[str, object], step: int | float | None = None) -> None:
        """See `gitexp.log_metrics`."""
        tracking.log_metrics(values, step)

    def log_artifact(self, path: str | Path) -> None:
        """See `gitexp.log_artifact`."""
        tracking.log_artifact(path)

    def log_image(self, key: str, image: object, step: int | float | None = None) -> None:
        """See `gitexp.log_image`."""
        tracking.log_image(key, image, step)


def _sample_this_process(project: Project, run_dir: Path) -> Sampler:
    """Sample this process (and what it starts) for the experiment; a warning if it cannot."""
    sampler, note = start_sampler(project.config.system_metrics, run_dir / "series", os.environ)
    if note is not None:
        warnings.warn(f"gitexp: {note}", stacklevel=3)
    if sampler is None:
        sampler = Sampler(run_dir / "series", 1.0, None)  # never started: stop() does nothing
    else:
        sampler.start(os.getpid())
    return sampler


def _plan(project: Project, params: Mapping[str, object]) -> ParamsPlan:
    """The first params file with ``params`` applied (missing keys added), not written.

    The same plan step as ``gitexp run``'s: one override per flattened key, set
    whether it exists or not; a params file that does not exist yet starts empty.
    """
    if not params or not project.config.params:
        return ParamsPlan()
    path = project.config.params[0]
    point = tuple(Override(path, key, (value,), None) for key, value in flatten(params).items())
    given = {} if (project.root / path).is_file() else {path: b""}
    return plan_params(project.root, project.config, point, given)
