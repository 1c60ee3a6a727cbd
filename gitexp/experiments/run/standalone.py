"""``with gitexp.Experiment():`` — record one experiment from a notebook or a script."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from gitexp.core.formats import flatten
from gitexp.core.names import ExperimentName, check_name, generate_name
from gitexp.core.params import apply_overrides, is_missing, lookup
from gitexp.core.runinfo import RunRecord, iso_utc, utc_now
from gitexp.errors import ConflictError
from gitexp.experiments.run import tracking
from gitexp.experiments.run.environment import host_facts, installed_packages
from gitexp.experiments.run.freshness import ResultsWatch
from gitexp.experiments.run.overrides import ParamsPlan
from gitexp.experiments.run.record import Recording, RunResult
from gitexp.experiments.run.runner import new_run_dir, read_artifacts, record_run
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
        self._project = project
        self._base = project.git.head_commit()
        self.name = self.name or generate_name(
            lambda n: read_ref(project.git, ExperimentName(n).ref) is not None
        )
        if not self._force and read_ref(project.git, ExperimentName(self.name).ref):
            raise ConflictError(
                f"experiment '{self.name}' already exists",
                hint="pick another name, or pass force=True to replace it",
            )
        self._plan = _plan(project, self._params)
        self._run_dir = new_run_dir(project, self.name)
        self._watch = ResultsWatch.begin(project.root, project.config, self._run_dir)
        config = project.config
        session = tracking.Session(
            root=project.root,
            params_files=list(config.params),
            metrics_file=config.metrics[0] if config.metrics else None,
            run_dir=self._run_dir,
            params_override=self._params or None,
            metrics_before=self._watch.before.get(config.metrics[0]) if config.metrics else None,
        )
        self._previous = tracking.current_session()
        tracking.set_session(session)
        self._started = utc_now()
        self._clock = time.monotonic()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._nested:
            return
        try:
            self.result = self._record(failed=exc_type is not None)
        finally:
            tracking.set_session(self._previous)
            shutil.rmtree(self._run_dir, ignore_errors=True)

    def _record(self, *, failed: bool) -> RunResult:
        project = self._project
        assert self.name is not None  # noqa: S101 - set in __enter__
        record = RunRecord(
            name=self.name,
            command=(sys.executable, *sys.argv),
            overrides=self._plan.record,
            status="failed" if failed else "success",
            exit_code=1 if failed else 0,
            started=iso_utc(self._started),
            duration_s=time.monotonic() - self._clock,
            baseline_commit=str(self._base.id),
            baseline_branch=project.git.head_branch(),
            packages=installed_packages(),
            **host_facts(),
        )
        recording = Recording(
            name=ExperimentName(self.name),
            base=self._base,
            record=record,
            params_as_run=self._plan.changed,
            log=b"",
            run_dir=self._run_dir,
            watch=self._watch,
            artifacts=read_artifacts(self._run_dir),
            message=self._message,
            force=self._force,
        )
        return record_run(project, project.git, recording)

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


def _plan(project: Project, params: Mapping[str, object]) -> ParamsPlan:
    """The first params file with ``params`` applied (missing keys added), not written."""
    plan = ParamsPlan()
    if not params or not project.config.params:
        return plan
    path = project.config.params[0]
    full = project.root / path
    original = full.read_bytes() if full.is_file() else b""
    from gitexp.core.formats import load_mapping

    doc = load_mapping(original, path) if original else {}
    flat = flatten(params)
    changes = {key: (value, is_missing(lookup(doc, key))) for key, value in flat.items()}
    plan.files[path] = (original, apply_overrides(original, path, changes))
    plan.record[path] = flat
    return plan
