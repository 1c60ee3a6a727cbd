"""Running one point of a request: params written, command run, experiment recorded.

A point runs in a `Place`: the workspace (the params files are put back afterwards)
or a throwaway worktree (nothing to put back). Everything here is shared by
sequential runs, parallel runs and ``gitexp.Experiment``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import orjson
import pygit2

from gitexp.cache.atomic import atomic_write
from gitexp.cache.objects import ObjectStore
from gitexp.core.names import ExperimentName
from gitexp.core.runinfo import RunRecord, iso_utc, utc_now
from gitexp.errors import GitexpError, Interrupted
from gitexp.experiments import index
from gitexp.experiments.environment import PackageScan, host_facts
from gitexp.experiments.guard import ParamsGuard
from gitexp.experiments.overrides import ParamsPlan
from gitexp.experiments.process import Command, OutputSink, run_command
from gitexp.experiments.project import Project
from gitexp.experiments.record import Recording, RunResult, record_experiment
from gitexp.experiments.summary import Reader
from gitexp.experiments.tracking import ENV_RUN_DIR
from gitexp.git.repo import GitRepo

Notify = Callable[[str], None]


@dataclass(frozen=True)
class Place:
    """Where a point runs: a working tree, the tree its files started from, the cwd.

    ``restore`` is true for the user's workspace, whose params files are put back.
    """

    git: GitRepo
    start: pygit2.Tree
    cwd: Path
    restore: bool


@dataclass
class Runner:
    """Runs points of one request; holds what they share."""

    project: Project
    base: pygit2.Commit
    command: Command
    message: str | None
    force: bool
    say: Notify
    env: Mapping[str, str] | None
    stop: threading.Event | None = None
    packages: PackageScan = field(default_factory=PackageScan)

    def run_point(
        self, plan: ParamsPlan, name: str, place: Place, on_output: OutputSink | None
    ) -> RunResult:
        """Run one point in ``place`` and record it; `Interrupted` records nothing."""
        root = place.git.root
        run_dir = new_run_dir(self.project, name, root)
        watch = MetricsWatch(root, self.project.config.metrics)
        guard = ParamsGuard(root, run_dir, plan.files) if place.restore else None
        try:
            if guard is not None:
                guard.apply()
            else:
                for path, (_old, new) in plan.files.items():
                    atomic_write(root / path, new)
            started, clock = utc_now(), time.monotonic()
            code, output = self._execute(run_dir, name, place.cwd, on_output)
            duration = time.monotonic() - clock
            warnings = guard.restore() if guard is not None else []
            for warning in warnings:
                self.say(warning)
            if self.stop is not None and self.stop.is_set():
                raise Interrupted("interrupted; the run was not recorded")
            recording = Recording(
                name=ExperimentName(name),
                base=self.base,
                record=self._record(name, plan, code, started, duration),
                params_as_run=plan.changed,
                log=output,
                run_dir=run_dir,
                fresh_metrics=watch.fresh(),
                artifacts=read_artifacts(run_dir),
                message=self.message,
                force=self.force,
                start=place.start,
            )
            store = ObjectStore(self.project.cache_dir)
            result = record_experiment(place.git, self.project.config, store, recording)
            result.notes.extend(warnings)
            remember(self.project, result.commit)
            return result
        finally:
            if guard is not None:
                for warning in guard.restore():
                    self.say(warning)
            shutil.rmtree(run_dir, ignore_errors=True)

    def _execute(
        self, run_dir: Path, name: str, cwd: Path, on_output: OutputSink | None
    ) -> tuple[int, bytes]:
        with open(run_dir / "output.log", "w+b") as log:
            code = run_command(
                self.command,
                cwd=cwd,
                env=child_env(self.env, run_dir, name),
                log=log,
                on_output=on_output,
                stop=self.stop,
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


def new_run_dir(project: Project, name: str, root: Path | None = None) -> Path:
    """A fresh folder for one run's journal, log, series and context."""
    run_dir = project.state / "runs" / f"{name}-{secrets.token_hex(4)}"
    (run_dir / "series").mkdir(parents=True)
    context = {
        "version": 1,
        "name": name,
        "root": str(root or project.root),
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
def workspace_lock(
    project: Project, names: Sequence[str] = (), say: Notify | None = None
) -> Iterator[None]:
    """Hold this worktree's run lock, waiting (and saying so) while another run holds it.

    Runs in one workspace write the same params files, so they take turns: the whole
    of a run (overrides written, command, record, params put back) happens under the
    lock, and the params are read for planning only once it is held. The holder
    writes its experiment names into the lock file, so a waiting run can say whom it
    waits for. Ctrl-C while waiting raises `Interrupted`; nothing was written.
    """
    path = project.git.git_dir / "gitexp-run.lock"
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if say is not None:
                say(
                    f"waiting for {_holder(handle)} to finish in this workspace "
                    "(use -j N to run in an isolated worktree instead)"
                )
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            except KeyboardInterrupt:
                raise Interrupted("interrupted while waiting; nothing was run") from None
        handle.truncate(0)
        handle.write(orjson.dumps({"pid": os.getpid(), "names": list(names)}))
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _holder(handle: BinaryIO) -> str:
    """Who holds the run lock, as the lock file says (it may not have said yet)."""
    handle.seek(0)
    try:
        names = orjson.loads(handle.read()).get("names") or []
    except (orjson.JSONDecodeError, AttributeError):
        names = []
    if not names:
        return "another `gitexp run`"
    shown = ", ".join(f"'{name}'" for name in names[:3])
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"experiment {shown}{more}" if len(names) == 1 else f"experiments {shown}{more}"
