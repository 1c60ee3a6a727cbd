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
from dataclasses import dataclass
from pathlib import Path

import orjson

from gitexp.cache.objects import ObjectStore
from gitexp.core.names import ExperimentName, check_name, generate_name, sweep_names
from gitexp.core.params import Override, grid, parse_override
from gitexp.core.runinfo import RunRecord, iso_utc, utc_now
from gitexp.errors import ConflictError, Interrupted
from gitexp.experiments.environment import PackageScan, host_facts
from gitexp.experiments.guard import ParamsGuard, recover_stale
from gitexp.experiments.overrides import ParamsPlan, plan_params
from gitexp.experiments.process import Command, OutputSink, check_command, parse_command, run_command
from gitexp.experiments.project import Project
from gitexp.experiments.record import Recording, RunResult, record_experiment
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
    env: Mapping[str, str] | None = None,
) -> list[RunResult]:
    """Run every point of the request's grid in the workspace; one result per point.

    Everything that can be checked is checked before anything is written or run:
    the repository has a commit, the command exists, every override names a key that
    exists (or, for ``+KEY``, does not) and every name is valid and free.
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
    packages = PackageScan()
    results: list[RunResult] = []
    with workspace_lock(project):
        for number, (plan, name) in enumerate(zip(plans, names, strict=True), 1):
            if len(plans) > 1:
                say(f"point {number}/{len(plans)}: {_describe(plan)}")
            results.append(
                _run_point(project, base, command, cwd, plan, name, request, packages,
                           on_output, say, env)
            )
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
    return " ".join(f"{key}={value}" for keys in plan.record.values() for key, value in keys.items())


def _run_point(
    project: Project,
    base: object,
    command: Command,
    cwd: Path,
    plan: ParamsPlan,
    given: str | None,
    request: RunRequest,
    packages: PackageScan,
    on_output: OutputSink | None,
    say: Notify,
    env: Mapping[str, str] | None,
) -> RunResult:
    """Run one point: params written, command run, params restored, experiment recorded."""
    git = project.git
    name = given or generate_name(_taken(project))
    run_dir = new_run_dir(project, name)
    watch = MetricsWatch(project.root, project.config.metrics)
    guard = ParamsGuard(project.root, run_dir, plan.files)
    try:
        guard.apply()
        started = utc_now()
        clock = time.monotonic()
        with open(run_dir / "output.log", "w+b") as log:
            code = run_command(
                command, cwd=cwd, env=child_env(env, run_dir, name), log=log, on_output=on_output
            )
            duration = time.monotonic() - clock
            log.seek(0)
            output = log.read()
        warnings = guard.restore()
        for warning in warnings:
            say(warning)
        record = RunRecord(
            name=name,
            command=command.recorded,
            overrides=plan.record,
            status="success" if code == 0 else "failed",
            exit_code=code,
            started=iso_utc(started),
            duration_s=duration,
            baseline_commit=str(base.id),  # type: ignore[attr-defined]
            baseline_branch=git.head_branch(),
            packages=packages.result(),
            **host_facts(),
        )
        recording = Recording(
            name=ExperimentName(name),
            base=base,  # type: ignore[arg-type]
            record=record,
            params_as_run=plan.changed,
            log=output,
            run_dir=run_dir,
            fresh_metrics=watch.fresh(),
            artifacts=read_artifacts(run_dir),
            message=request.message,
            force=request.force,
        )
        result = record_experiment(git, project.config, ObjectStore(project.cache_dir), recording)
        result.notes.extend(warnings)
        return result
    except Interrupted:
        for warning in guard.restore():
            say(warning)
        raise
    finally:
        guard.restore()
        shutil.rmtree(run_dir, ignore_errors=True)


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
