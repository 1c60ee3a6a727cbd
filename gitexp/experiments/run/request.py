"""``gitexp run``: apply overrides, run the command, record the experiment, restore.

A run happens in the workspace: the overridden params are written, the command runs,
the experiment is recorded, and the params files are put back byte for byte (unless
the user edited them meanwhile). Several values for a key make a grid whose points
run one after another, each its own experiment; with ``jobs`` above one they run in
isolated worktrees instead, that many at a time (see `parallel`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitexp.core.names import ExperimentName, check_name, generate_name, sweep_names
from gitexp.core.params import Override, Point, grid, parse_override
from gitexp.data.pointers import workspace_pointers
from gitexp.errors import ConflictError, Interrupted, UsageError
from gitexp.experiments.run.crashed import recover, remove_abandoned_worktrees
from gitexp.experiments.run.overrides import ParamsPlan, plan_params
from gitexp.experiments.run.process import Command, OutputSink, check_command, parse_command
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.runner import Notify, Place, Runner, workspace_lock
from gitexp.git.refs import read_ref
from gitexp.project import Project


@dataclass(frozen=True)
class RunRequest:
    """What ``gitexp run`` was asked to do.

    ``command``: CLI words, or one string (run through the shell when it has shell
    syntax); None or empty: ``command:`` of gitexp.yaml. ``cwd`` (with a command of
    its own only): where it runs, default the repository root.
    """

    command: Sequence[str] | str | None = None
    overrides: Sequence[str | Override] = ()
    name: str | None = None
    message: str | None = None
    force: bool = False
    cwd: str | os.PathLike[str] | None = None
    jobs: int = 1
    sweep: Mapping[str, object] | None = None
    """Set by a sweep's driver: the trial this run is, kept in its ``run.json``."""


def run(
    project: Project,
    request: RunRequest,
    *,
    on_output: OutputSink | None = None,
    notify: Notify | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    env: Mapping[str, str] | None = None,
    stop: threading.Event | None = None,
) -> list[RunResult]:
    """Run every point of the request's grid; one result per point, in grid order.

    Everything that can be checked is checked before anything is written or run:
    the repository has a commit, the command exists, every override names a key that
    exists (or, for ``+KEY``, does not), every name is valid and free, and every
    pointer file the experiment would record is valid and safe.
    ``on_result`` hears of each experiment as soon as it is recorded.

    ``stop`` is how a caller that turned SIGINT or SIGTERM into an event asks the run
    to end (without it, Ctrl-C does). Raises `Interrupted` once a point was recorded
    as interrupted, or when a stop came before a point started: what was recorded
    by then has been handed to ``on_result``.
    """
    say = notify or (lambda _msg: None)
    report = on_result or (lambda _result: None)
    if request.jobs < 1:
        raise UsageError("-j needs a number of jobs from 1 up")
    for message in recover(project):
        say(message)
    remove_abandoned_worktrees(project)
    base = project.git.head_commit()
    workspace_pointers(project)  # a broken or unsafe pointer stops the run before it starts
    overrides = [o if isinstance(o, Override) else parse_override(o) for o in request.overrides]
    points = grid(overrides)
    given: dict[str, bytes] = {}
    if request.jobs > 1:  # the worktree machinery is loaded only for -j runs
        from gitexp.experiments.run import parallel

        given = parallel.users_params(project)
    plans = [plan_params(project.root, project.config, p, given) for p in points]
    command, cwd = _resolve_command(project, request)
    names = _plan_names(project, request, len(plans))
    runner = Runner(project, base, command, request.message, request.force, say, env)
    runner.sweep = request.sweep
    if stop is not None:
        runner.stop = stop
    if request.jobs > 1:
        named = list(zip(plans, names, strict=True))
        return parallel.run_parallel(runner, named, request.jobs, cwd, report, given)
    place = Place(git=project.git, start=base.tree, cwd=cwd, restore=True)
    results: list[RunResult] = []
    with workspace_lock(project, names, say, runner.stop):
        plans = _replan(project, points, say)
        if request.name is not None and not request.force:
            _check_free(project, names)  # a run waited for may have taken one
        for number, (plan, name) in enumerate(zip(plans, names, strict=True), 1):
            if len(plans) > 1:
                say(f"point {number}/{len(plans)} ({name}): {_describe(plan)}")
            results.append(runner.run_point(plan, name, place, on_output))
            report(results[-1])
            if results[-1].status == "interrupted":
                raise Interrupted(_interrupted_message(name, len(plans) - number))
    return results


def _interrupted_message(name: str, left: int) -> str:
    later = f"; the {left} later point(s) were not run" if left else ""
    return (
        f"interrupted; the run was recorded as experiment '{name}' with status "
        f"interrupted{later} (to run it again under that name, add --force)"
    )


def _replan(project: Project, points: Sequence[Point], say: Notify) -> list[ParamsPlan]:
    """The plans again, from the params as they are now that this run holds the workspace.

    The first plans only checked the overrides: another run may have held the params
    files then, with its own overrides written, or may have been killed since and left
    them for crash recovery to put back.
    """
    for message in recover(project):
        say(message)
    return [plan_params(project.root, project.config, point) for point in points]


def _resolve_command(project: Project, request: RunRequest) -> tuple[Command, Path]:
    if request.command:
        command = parse_command(request.command)
        cwd = Path(request.cwd).resolve() if request.cwd is not None else project.root
    else:
        command = parse_command(project.config.command or [])
        cwd = project.root
    check_command(command, cwd)
    return command, cwd


def _plan_names(project: Project, request: RunRequest, count: int) -> list[str]:
    """One free name per point: ``NAME`` (or ``NAME-1``…), else readable generated ones."""
    if request.name is None:
        chosen: list[str] = []
        for _ in range(count):
            chosen.append(generate_name(lambda n: n in chosen or _taken(project, n)))
        return chosen
    names = [check_name(request.name)] if count == 1 else sweep_names(request.name, count)
    if not request.force:
        _check_free(project, names)
    return names


def _check_free(project: Project, names: Sequence[str]) -> None:
    for name in names:
        if _taken(project, name):
            raise ConflictError(
                f"experiment '{name}' already exists",
                hint="pick another name with -n, or pass --force to replace it",
            )


def _taken(project: Project, name: str) -> bool:
    return read_ref(project.git, ExperimentName(name).ref) is not None


def _describe(plan: ParamsPlan) -> str:
    return " ".join(
        f"{key}={value}" for keys in plan.record.values() for key, value in keys.items()
    )
