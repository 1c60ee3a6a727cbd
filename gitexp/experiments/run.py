"""``gitexp run``: apply overrides, run the command, record the experiment, restore.

A run happens in the workspace: the overridden params are written, the command runs,
the experiment is recorded, and the params files are put back byte for byte (unless
the user edited them meanwhile). Several values for a key make a grid whose points
run one after another, each its own experiment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson
import pygit2

from gitexp.cache.objects import ObjectStore
from gitexp.core.names import ExperimentName, check_name, generate_name, sweep_names
from gitexp.core.params import Override, grid, parse_override
from gitexp.core.runinfo import RunRecord, iso_utc, utc_now
from gitexp.errors import ConflictError, GitexpError
from gitexp.experiments import index
from gitexp.experiments.environment import PackageScan, host_facts
from gitexp.experiments.guard import ParamsGuard, recover_stale
from gitexp.experiments.overrides import ParamsPlan, plan_params
from gitexp.experiments.process import (
    Command,
    OutputSink,
    check_command,
    parse_command,
    run_command,
)
from gitexp.experiments.project import Project
from gitexp.experiments.record import Recording, RunResult, record_experiment
from gitexp.experiments.summary import Reader
from gitexp.git.refs import read_ref

ENV_RUN_DIR = "GITEXP_RUN_DIR"
"""Set for the command: the folder where the tracking API writes series and artifacts."""

Notify = Callable[[str], None]


@dataclass
class RunRequest:
    """What ``gitexp run`` was asked to do."""

    command: Sequence[str] | None = None
    overrides: Sequence[str | Override] = ()
    name: str | None = None
    message: str | None = None
    force: bool = False
    cwd: Path | None = None


def run(
    project: Project,
    request: RunRequest,
    *,
    on_output: OutputSink | None = None,
    notify: Notify | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[RunResult]:
    """Run every point of the request's grid in the workspace; one result per point.

    Everything that can be checked is checked before anything is written or run:
    the repository has a commit, the command exists, every override names a key that
    exists (or, for ``+KEY``, does not) and every name is valid and free.
    ``on_result`` hears of each experiment as soon as it is recorded.
    """
    say = notify or (lambda _msg: None)
    for message in recover_stale(project.state / "runs"):
        say(message)
    base = project.git.head_commit()
    overrides = [o if isinstance(o, Override) else parse_override(o) for o in request.overrides]
    points = grid(overrides)
    plans = [plan_params(project.root, project.config, point) for point in points]
    command, cwd = _resolve_command(project, request)
    names = _plan_names(project, request, len(points))
    runner = _Runner(project, base, command, cwd, request, on_output, say, env)
    results: list[RunResult] = []
    with workspace_lock(project):
        for number, (plan, name) in enumerate(zip(plans, names, strict=True), 1):
            if len(plans) > 1:
                say(f"point {number}/{len(plans)}: {_describe(plan)}")
            result = runner.run_point(plan, name)
            if on_result is not None:
                on_result(result)
            results.append(result)
    return results


def _resolve_command(project: Project, request: RunRequest) -> tuple[Command, Path]:
    if request.command:
        command = parse_command(request.command)
        cwd = request.cwd or project.root
    else:
        command = parse_command(project.config.command or [])
        cwd = project.root
    check_command(command, cwd)
    return command, cwd


def _plan_names(project: Project, request: RunRequest, count: int) -> list[str | None]:
    """Names given (``NAME`` or ``NAME-1``…), each checked free; None: generate later."""
    if request.name is None:
        return [None] * count
    names = [check_name(request.name)] if count == 1 else sweep_names(request.name, count)
    if not request.force:
        for name in names:
            if read_ref(project.git, ExperimentName(name).ref) is not None:
                raise ConflictError(
                    f"experiment '{name}' already exists",
                    hint="pick another name with -n, or pass --force to replace it",
                )
    return list(names)


def _describe(plan: ParamsPlan) -> str:
    return " ".join(
        f"{key}={value}" for keys in plan.record.values() for key, value in keys.items()
    )


@dataclass
class _Runner:
    """Runs the points of one request in the workspace, one after another."""

    project: Project
    base: pygit2.Commit
    command: Command
    cwd: Path
    request: RunRequest
    on_output: OutputSink | None
    say: Notify
    env: Mapping[str, str] | None
    packages: PackageScan = field(default_factory=PackageScan)

    def run_point(self, plan: ParamsPlan, given: str | None) -> RunResult:
        """Params written, command run, params restored, experiment recorded."""
        project = self.project
        name = given or generate_name(_taken(project))
        run_dir = new_run_dir(project, name)
        watch = MetricsWatch(project.root, project.config.metrics)
        guard = ParamsGuard(project.root, run_dir, plan.files)
        try:
            guard.apply()
            started = utc_now()
            clock = time.monotonic()
            code, output = self._execute(run_dir, name)
            duration = time.monotonic() - clock
            warnings = guard.restore()
            for warning in warnings:
                self.say(warning)
            record = self._record(name, plan, code, started, duration)
            recording = Recording(
                name=ExperimentName(name),
                base=self.base,
                record=record,
                params_as_run=plan.changed,
                log=output,
                run_dir=run_dir,
                fresh_metrics=watch.fresh(),
                artifacts=read_artifacts(run_dir),
                message=self.request.message,
                force=self.request.force,
            )
            store = ObjectStore(project.cache_dir)
            result = record_experiment(project.git, project.config, store, recording)
            result.notes.extend(warnings)
            remember(project, result.commit)
            return result
        finally:
            for warning in guard.restore():
                self.say(warning)
            shutil.rmtree(run_dir, ignore_errors=True)

    def _execute(self, run_dir: Path, name: str) -> tuple[int, bytes]:
        with open(run_dir / "output.log", "w+b") as log:
            code = run_command(
                self.command,
                cwd=self.cwd,
                env=child_env(self.env, run_dir, name),
                log=log,
                on_output=self.on_output,
            )
            log.seek(0)
            return code, log.read()

    def _record(
        self, name: str, plan: ParamsPlan, code: int, started: datetime, duration: float
    ) -> RunRecord:
        return RunRecord(
            name=name,
            command=self.command.recorded,
            overrides=plan.record,
            status="success" if code == 0 else "failed",
            exit_code=code,
            started=iso_utc(started),
            duration_s=duration,
            baseline_commit=str(self.base.id),
            baseline_branch=self.project.git.head_branch(),
            packages=self.packages.result(),
            **host_facts(),
        )


def remember(project: Project, commit: str) -> None:
    """Put a new experiment's summary in the index, so ``show`` need not read it again."""
    with contextlib.suppress(OSError, GitexpError):
        summary = Reader(project.git).summary(commit)
        index.append(project.state / "index" / index.FILE_NAME, [summary])


def _taken(project: Project) -> Callable[[str], bool]:
    return lambda name: read_ref(project.git, ExperimentName(name).ref) is not None


def new_run_dir(project: Project, name: str) -> Path:
    """A fresh folder for one run's journal, log, series and context."""
    run_dir = project.state / "runs" / f"{name}-{secrets.token_hex(4)}"
    (run_dir / "series").mkdir(parents=True)
    context = {
        "version": 1,
        "name": name,
        "root": str(project.root),
        "params": list(project.config.params),
        "metrics": list(project.config.metrics),
    }
    (run_dir / "context.json").write_bytes(orjson.dumps(context))
    return run_dir


def child_env(base: Mapping[str, str] | None, run_dir: Path, name: str) -> dict[str, str]:
    """The command's environment: the caller's, plus where to log and unbuffered Python."""
    env = dict(os.environ if base is None else base)
    env[ENV_RUN_DIR] = str(run_dir)
    env["GITEXP_EXPERIMENT"] = name
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def read_artifacts(run_dir: Path) -> list[str]:
    """Paths the command passed to ``log_artifact``, in order, once each."""
    try:
        lines = (run_dir / "artifacts.txt").read_text().splitlines()
    except FileNotFoundError:
        return []
    return list(dict.fromkeys(line for line in lines if line))


class MetricsWatch:
    """Tells which metrics files were written between its creation and `fresh`."""

    def __init__(self, root: Path, paths: Sequence[str]) -> None:
        self.root = root
        self.before = {path: _stamp(root / path) for path in paths}

    def fresh(self) -> set[str]:
        """The metrics files that were written (or replaced) since creation."""
        return {
            path
            for path, stamp in self.before.items()
            if (now := _stamp(self.root / path)) is not None and now != stamp
        }


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_mtime_ns, info.st_ino, info.st_size)


@contextlib.contextmanager
def workspace_lock(project: Project) -> Iterator[None]:
    """Hold this worktree's run lock; `ConflictError` if another run holds it."""
    path = project.git.git_dir / "gitexp-run.lock"
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConflictError(
                "another `gitexp run` is running in this workspace",
                hint="wait for it to finish; overrides of two runs cannot share one workspace",
            ) from exc
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
