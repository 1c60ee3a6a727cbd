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

from gitexp.core.names import ExperimentName
from gitexp.core.runinfo import RunRecord, Status, iso_utc, utc_now
from gitexp.errors import GitexpError, Interrupted
from gitexp.experiments.query import index
from gitexp.experiments.query.summary import Reader
from gitexp.experiments.run import journal
from gitexp.experiments.run.environment import PackageScan, host_facts
from gitexp.experiments.run.freshness import ResultsWatch
from gitexp.experiments.run.guard import ParamsGuard
from gitexp.experiments.run.overrides import ParamsPlan
from gitexp.experiments.run.process import Command, OutputSink, run_command
from gitexp.experiments.run.pruning import pruned_by
from gitexp.experiments.run.record import Recording, RunResult, record_experiment
from gitexp.experiments.run.sysmetrics import Sampler, start_sampler
from gitexp.experiments.run.tracking import ENV_RUN_DIR
from gitexp.git.repo import GitRepo
from gitexp.project import Project

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
    stop: threading.Event = field(default_factory=threading.Event)
    packages: PackageScan = field(default_factory=PackageScan)
    sweep: Mapping[str, object] | None = None
    """The sweep this point is a trial of, for its ``run.json`` (`SweepPlan.trial_info`)."""
    reproduces: Mapping[str, str] | None = None
    """The experiment this point runs again (``gitexp reproduce``): its name and commit."""
    noted: bool = False
    """Whether the note that system metrics are not sampled was given (once a request)."""

    def run_point(
        self, plan: ParamsPlan, name: str, place: Place, on_output: OutputSink | None
    ) -> RunResult:
        """Run one point in ``place`` and record it.

        How it ended is decided once: a stop (`stop` set by a signal, or Ctrl-C) while
        the command runs, or while the run is recorded, records it ``interrupted``; a
        stop before it starts raises `Interrupted` and records nothing; a stop after
        the record's status is sealed changes nothing. The journal (`journal.begin`)
        lets ``show`` list the run while it goes and the next command record it as
        crashed if this process dies.
        """
        if self.stop.is_set():
            raise Interrupted(
                f"interrupted before experiment '{name}' started; nothing was recorded for it"
            )
        root = place.git.root
        run = Run.begin(
            self.project, name, self.base, self.command.recorded, plan, root,
            message=self.message, force=self.force, sweep=self.sweep,
            reproduces=self.reproduces,
        )  # fmt: skip
        guard = ParamsGuard(root, run.run_dir, plan.files, put_back=place.restore)
        try:
            self._begin(run, place)
            guard.apply()
            code, output = self._execute(run.run_dir, name, place.cwd, on_output)
            duration = time.monotonic() - run.clock
            warnings = guard.restore()
            for warning in warnings:
                self.say(warning)
            status = self._status(code, pruned_by(run.run_dir))
            record = run.record(status, code, self.packages.result(), duration)
            result = run.finish(place.git, record, output, place.start, self.stop.is_set)
            result.notes.extend(warnings)
            return result
        finally:
            for warning in guard.restore():
                self.say(warning)
            shutil.rmtree(run.run_dir, ignore_errors=True)

    def _begin(self, run: Run, place: Place) -> None:
        """Write the run's journal: its draft record and every params file as it runs.

        The draft does not wait for the scan of installed packages, which goes on
        while the command runs (a crashed run's record lists none).
        """
        as_run = {}
        for path in self.project.config.params:
            with contextlib.suppress(OSError):
                as_run[path] = (place.git.root / path).read_bytes()
        as_run.update(run.plan.changed)
        metrics = self.project.config.metrics
        journal.begin(
            run.run_dir,
            run.record("running", None, {}, 0.0),
            start_tree=str(place.start.id),
            params_as_run=as_run,
            metrics_file=metrics[0] if metrics else None,
        )

    def _execute(
        self, run_dir: Path, name: str, cwd: Path, on_output: OutputSink | None
    ) -> tuple[int, bytes]:
        env = child_env(self.env, run_dir, name)
        sampler = self._sampler(run_dir, env)

        def started(pid: int) -> None:
            journal.command_started(run_dir, pid)
            if sampler is not None:
                sampler.start(pid)

        with open(run_dir / "output.log", "w+b") as log:
            try:
                code = run_command(
                    self.command,
                    cwd=cwd,
                    env=env,
                    log=log,
                    on_output=on_output,
                    stop=self.stop,
                    on_start=started,
                )
            finally:
                if sampler is not None:
                    sampler.stop()
            log.seek(0)
            return code, log.read()

    def _status(self, code: int, pruned: bool = False) -> Status:
        """How the command ended; a trial that a sweep told to stop, and stopped, is pruned."""
        if self.stop.is_set():
            return "interrupted"
        if pruned:
            return "pruned"
        return "success" if code == 0 else "failed"

    def _sampler(self, run_dir: Path, env: Mapping[str, str]) -> Sampler | None:
        """The sampler of the command's CPU, memory and GPU use; the note once if none."""
        settings = self.project.config.system_metrics
        sampler, note = start_sampler(settings, run_dir / "series", env)
        if note is not None and not self.noted:
            self.noted = True
            self.say(note)
        return sampler


@dataclass(frozen=True)
class Run:
    """One run from its start to its record: the one recording path.

    `Runner.run_point` (``gitexp run``, in the workspace or a worktree) and the
    standalone `gitexp.Experiment` both begin one, and end it with `finish`; the
    overrides go from ``plan`` into the record.
    """

    project: Project
    name: str
    base: pygit2.Commit
    command: tuple[str, ...]
    plan: ParamsPlan
    run_dir: Path
    watch: ResultsWatch
    started: datetime
    clock: float
    message: str | None = None
    force: bool = False
    sweep: Mapping[str, object] | None = None
    reproduces: Mapping[str, str] | None = None

    @classmethod
    def begin(
        cls,
        project: Project,
        name: str,
        base: pygit2.Commit,
        command: Sequence[str],
        plan: ParamsPlan,
        root: Path | None = None,
        *,
        message: str | None = None,
        force: bool = False,
        sweep: Mapping[str, object] | None = None,
        reproduces: Mapping[str, str] | None = None,
    ) -> Run:
        """Start a run in the working tree at ``root`` (default: the project's).

        Makes its folder (`new_run_dir`) and notes what the result files hold now.
        """
        run_dir = new_run_dir(project, name, root)
        watch = ResultsWatch.begin(root or project.root, project.config, run_dir)
        started, clock = utc_now(), time.monotonic()
        return cls(
            project, name, base, tuple(command), plan, run_dir, watch, started, clock,
            message, force, sweep, reproduces,
        )  # fmt: skip

    def record(
        self, status: Status, code: int | None, packages: Mapping[str, str], duration: float
    ) -> RunRecord:
        """The run's record (``running``, without a ``code``: the draft of a live one)."""
        return RunRecord(
            name=self.name,
            command=self.command,
            overrides=self.plan.record,
            status=status,
            exit_code=code,
            started=iso_utc(self.started),
            duration_s=duration,
            baseline_commit=str(self.base.id),
            baseline_branch=self.project.git.head_branch(),
            packages=dict(packages),
            sweep=self.sweep,
            reproduces=self.reproduces,
            **host_facts(),
        )

    def finish(
        self,
        git: GitRepo,
        record: RunRecord,
        log: bytes,
        start: pygit2.Tree | None = None,
        stopped: Callable[[], bool] | None = None,
    ) -> RunResult:
        """Record the finished run as an experiment in ``git``'s working tree, indexed.

        ``start``: the tree its files started from when not the baseline's (a
        worktree); ``stopped`` is asked once more before the status is sealed.
        Raises like `record_experiment`.
        """
        recording = Recording(
            name=ExperimentName(self.name),
            base=self.base,
            record=record,
            params_as_run=self.plan.changed,
            log=log,
            run_dir=self.run_dir,
            watch=self.watch,
            artifacts=read_artifacts(self.run_dir),
            message=self.message,
            force=self.force,
            start=start,
            stopped=stopped,
        )
        return record_run(self.project, git, recording)


def record_run(project: Project, git: GitRepo, recording: Recording) -> RunResult:
    """Record a finished run as an experiment, then index it: the one recording path.

    ``gitexp run`` (in the workspace or a worktree, ``git``) and the standalone
    `gitexp.Experiment` both end here. Raises like `record_experiment`.
    """
    result = record_experiment(git, project.config, project.store(), recording)
    remember(project, result.commit)
    return result


def remember(project: Project, commit: str) -> None:
    """Put a new experiment's summary in the index, so ``show`` need not read it again."""
    with contextlib.suppress(OSError, GitexpError):
        summary = Reader(project.git).summary(commit)
        index.append(project.layout.index / index.FILE_NAME, [summary])


def new_run_dir(project: Project, name: str, root: Path | None = None) -> Path:
    """A fresh folder for one run's journal, log, series and context."""
    run_dir = project.layout.runs / f"{name}-{secrets.token_hex(4)}"
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


@contextlib.contextmanager
def workspace_lock(
    project: Project,
    names: Sequence[str] = (),
    say: Notify | None = None,
    stop: threading.Event | None = None,
) -> Iterator[None]:
    """Hold this worktree's run lock, waiting (and saying so) while another run holds it.

    Runs in one workspace write the same params files, so they take turns: the whole
    of a run (overrides written, command, record, params put back) happens under the
    lock, and the params are read for planning only once it is held. The holder
    writes its experiment names into the lock file, so a waiting run can say whom it
    waits for. Ctrl-C while waiting (or ``stop`` set: the CLI turns signals into it)
    raises `Interrupted`; nothing was written.
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
                _wait_for_lock(handle, stop)
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


def _wait_for_lock(handle: BinaryIO, stop: threading.Event | None) -> None:
    """Take the lock once its holder lets go; `Interrupted` as soon as ``stop`` is set."""
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if stop is not None and stop.wait(0.05):
                raise Interrupted("interrupted while waiting; nothing was run") from None
            if stop is None:
                time.sleep(0.05)


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
