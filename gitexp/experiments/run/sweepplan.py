"""What a search runs, checked before any trial: its space, goal, names and past trials.

A sweep's only state is its trials' refs: each trial's ``run.json`` carries
``sweep`` (`trial_info`): the study's name, sampler, seed, pruner, goal, space, the
fixed overrides and this trial's number and values. ``--resume`` reads them back
(`resume_plan`), so a driver killed at any moment loses nothing: what was recorded
is replayed into a new study, and the trial numbers not yet used are run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pygit2

from gitexp.core.dotted import is_missing, lookup
from gitexp.core.goals import Direction, resolve_goal
from gitexp.core.names import ExperimentName, check_name, generate_name
from gitexp.core.params import Override, parse_override
from gitexp.core.runinfo import RUN_JSON, parse_run_json
from gitexp.core.search import (
    Dimension,
    SearchKey,
    SweepOptions,
    is_search,
    parse_goal_flag,
    parse_search,
)
from gitexp.errors import (
    ConflictError,
    FormatError,
    GoalError,
    NotFoundError,
    UsageError,
)
from gitexp.experiments.query.summary import Reader
from gitexp.experiments.run.journal import journals
from gitexp.experiments.run.overrides import plan_params
from gitexp.git.refs import list_refs
from gitexp.project import Project

INFO_VERSION = 1


@dataclass(frozen=True)
class PastTrial:
    """A trial recorded before this driver started: what a new study must know of it."""

    number: int
    values: Mapping[str, object]
    status: str
    value: float | None
    steps: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep's driver needs, all checked."""

    name: str
    keys: tuple[SearchKey, ...]
    fixed: tuple[Override, ...]
    goal: str
    direction: Direction
    sampler: str
    seed: int | None
    prune: str | None
    trials: int
    command: tuple[str, ...] | None
    numbers: tuple[int, ...]
    """The trial numbers to run now, in order."""
    past: tuple[PastTrial, ...] = field(default_factory=tuple)

    def trial_name(self, number: int) -> str:
        """The experiment name of trial ``number``: ``NAME-number``."""
        return f"{self.name}-{number}"

    def trial_info(self, number: int, values: Mapping[str, object]) -> dict[str, object]:
        """The ``sweep`` field of trial ``number``'s ``run.json``."""
        return {
            "version": INFO_VERSION,
            "name": self.name,
            "trial": number,
            "trials": self.trials,
            "sampler": self.sampler,
            "seed": self.seed,
            "prune": self.prune,
            "goal": {"key": self.goal, "direction": self.direction},
            "space": {k.label: k.dimension.text() for k in self.keys},
            "distributions": {k.label: _distribution(k.dimension) for k in self.keys},
            "fixed": [o.text for o in self.fixed],
            "values": dict(values),
        }


def _distribution(dim: Dimension) -> dict[str, object]:
    if dim.kind == "choice":
        return {"kind": "choice", "choices": list(dim.choices)}
    return {"kind": dim.kind, "low": dim.low, "high": dim.high, "step": dim.step, "log": dim.log}


def new_plan(
    project: Project, overrides: Sequence[str], name: str | None, options: SweepOptions, force: bool
) -> SweepPlan:
    """The plan of a new search; `UsageError` for a bad space or missing ``--trials``.

    Comma lists (``-S opt=adam,sgd``) become choices; one value stays fixed for
    every trial. Every key is checked against the params files here, so a typo
    stops the sweep before its first trial.
    """
    if options.trials is None:
        raise UsageError("a search needs --trials N", hint="for example --trials 20")
    keys, fixed = split_overrides(overrides)
    if not keys:
        raise UsageError(
            "--trials, --sampler, --seed and --prune need a search space in -S",
            hint="for example -S 'lr=loguniform(1e-4,1e-1)', or a list: -S opt=adam,sgd",
        )
    _check_keys(project, keys, fixed)
    goal, direction = choose_goal(project, options.goal)
    study = name or generate_name(lambda n: bool(_trial_refs(project, n)))
    plan = SweepPlan(
        name=check_name(study),
        keys=keys,
        fixed=fixed,
        goal=goal,
        direction=direction,
        sampler=options.sampler or "tpe",
        seed=options.seed,
        prune=options.prune,
        trials=options.trials,
        command=None,
        numbers=tuple(range(1, options.trials + 1)),
    )
    for number in plan.numbers:
        check_name(plan.trial_name(number))
    if not force and _trial_refs(project, plan.name):
        raise ConflictError(
            f"sweep '{plan.name}' has trials already",
            hint=f"continue it with `gitexp run -n {plan.name} --resume`, or pick another -n",
        )
    return plan


def split_overrides(overrides: Sequence[str]) -> tuple[tuple[SearchKey, ...], tuple[Override, ...]]:
    """The searched keys (spaces and comma lists) and the fixed overrides of ``-S``."""
    keys: list[SearchKey] = []
    fixed: list[Override] = []
    for spec in overrides:
        if is_search(spec):
            keys.append(parse_search(spec))
            continue
        override = parse_override(spec)
        if len(override.values) == 1:
            fixed.append(override)
        else:
            dim = Dimension("choice", choices=override.values)
            keys.append(SearchKey(override.file, override.key, override.add, dim))
    labels = [k.label.lstrip("+") for k in keys] + [o.text.partition("=")[0] for o in fixed]
    if len(set(labels)) != len(labels):
        raise UsageError("a key is given twice in -S", hint="give each key once")
    return tuple(keys), tuple(fixed)


def _check_keys(project: Project, keys: Sequence[SearchKey], fixed: Sequence[Override]) -> None:
    """Raise `ParamsError` when a key does not exist (or, for ``+KEY``, does)."""
    point = [o.at(o.values[0]) for o in fixed]
    for key in keys:
        sample = key.dimension.choices[0] if key.dimension.choices else key.dimension.low
        point.append(key.override(sample))
    plan_params(project.root, project.config, tuple(point))


def choose_goal(project: Project, flag: str | None) -> tuple[str, Direction]:
    """``--goal KEY[:max|min]``, else the first key of ``goals:``; `GoalError` otherwise."""
    declared = project.config.goals
    if flag is not None:
        key, direction = parse_goal_flag(flag)
        given: Direction | None = (
            None if direction is None else ("max" if direction == "max" else "min")
        )
        return key, resolve_goal(key, declared, given).direction
    if declared:
        key = next(iter(declared))
        return key, declared[key]
    raise GoalError(
        "a search needs a goal: which metric to optimize, and which way",
        hint="pass --goal KEY:max (or :min), or declare goals: {acc: max} in gitexp.yaml",
    )


def resume_plan(
    project: Project, overrides: Sequence[str], name: str | None, options: SweepOptions
) -> SweepPlan:
    """The plan that continues sweep ``name`` from its trials' refs.

    Space, goal, sampler, seed, pruner and command come from the latest trial;
    ``-S``, ``--goal``, ``--sampler``, ``--seed`` and ``--prune`` given again must
    match them. The numbers left are those no recorded trial and no run still going
    on has: no trial is ever run twice.
    """
    if name is None:
        raise UsageError(
            "--resume needs the sweep's name", hint="write gitexp run -n NAME --resume"
        )
    past = read_past(project, name)
    if not past:
        raise NotFoundError(
            f"no sweep named '{name}' to resume",
            hint="`gitexp list` shows the experiments; a sweep's trials are NAME-1, NAME-2, ...",
        )
    _last, info, command = past[-1]
    plan = _plan_from_info(info, name, command, options)
    _check_same(plan, overrides, options)
    done = {trial.number for trial, _info, _command in past}
    busy = _running_numbers(project.layout.runs, name)
    numbers = tuple(n for n in range(1, plan.trials + 1) if n not in done | busy)
    trials = tuple(trial for trial, _info, _command in past)
    return dataclasses.replace(plan, numbers=numbers, past=trials)


def _plan_from_info(
    info: Mapping[str, object], name: str, command: tuple[str, ...], options: SweepOptions
) -> SweepPlan:
    space = info.get("space")
    goal = info.get("goal")
    if not isinstance(space, dict) or not isinstance(goal, dict):
        raise FormatError(f"sweep '{name}': its trials' run.json lacks space or goal")
    keys = tuple(parse_search(f"{label}={text}") for label, text in space.items())
    texts = info.get("fixed")
    fixed = tuple(parse_override(str(t)) for t in (texts if isinstance(texts, list) else []))
    direction: Direction = "max" if goal.get("direction") == "max" else "min"
    stored = info.get("trials")
    trials = options.trials or (stored if isinstance(stored, int) else 0)
    seed = info.get("seed")
    return SweepPlan(
        name=name,
        keys=keys,
        fixed=fixed,
        goal=str(goal.get("key")),
        direction=direction,
        sampler=str(info.get("sampler") or "tpe"),
        seed=seed if isinstance(seed, int) else None,
        prune=str(info["prune"]) if info.get("prune") else None,
        trials=trials,
        command=command,
        numbers=(),
    )


def _check_same(plan: SweepPlan, overrides: Sequence[str], options: SweepOptions) -> None:
    """`UsageError` when a flag given to ``--resume`` says other than the sweep's refs."""
    if overrides:
        keys, fixed = split_overrides(overrides)
        given = ({k.label: k.dimension.text() for k in keys}, sorted(o.text for o in fixed))
        stored = (
            {k.label: k.dimension.text() for k in plan.keys},
            sorted(o.text for o in plan.fixed),
        )
        if given != stored:
            raise UsageError(
                f"-S differs from sweep '{plan.name}''s space",
                hint="resume with no -S (the space comes from the trials), or start a new -n",
            )
    goal = None if options.goal is None else parse_goal_flag(options.goal)
    for flag, given_value, value in (
        ("--sampler", options.sampler, plan.sampler),
        ("--seed", options.seed, plan.seed),
        ("--prune", options.prune, plan.prune),
        ("--goal", goal and goal[0], plan.goal),
    ):
        if given_value is not None and given_value != value:
            raise UsageError(
                f"{flag} {given_value} differs from sweep '{plan.name}''s {value}",
                hint="resume without it: the sweep's own settings come from its trials",
            )


_NUMBERED = re.compile(r"^(?P<name>.+)-(?P<number>[1-9][0-9]*)$")


def _trial_refs(project: Project, name: str) -> dict[int, str]:
    """Trial number → commit of every ref ``NAME-<number>``."""
    prefix = ExperimentName(name).ref + "-"
    found: dict[int, str] = {}
    for ref, commit in list_refs(project.git, prefix + "*").items():
        match = _NUMBERED.match(ref.rpartition("/")[2])
        if match and match.group("name") == name:
            found[int(match.group("number"))] = commit
    return found


Past = tuple[PastTrial, dict[str, object], tuple[str, ...]]


def read_past(project: Project, name: str) -> list[Past]:
    """Every recorded trial of sweep ``name``, by number, with its ``sweep`` info and command.

    Refs named like a trial whose ``run.json`` names another sweep (or none) are not
    its trials.
    """
    reader = Reader(project.git)
    past: list[Past] = []
    for number, commit in sorted(_trial_refs(project, name).items()):
        tree = project.git.lookup_commit(commit).tree
        data = project.git.read_blob(tree, RUN_JSON)
        if data is None:
            continue
        record = parse_run_json(data, f"experiment '{name}-{number}'")
        info = dict(record.sweep or {})
        if info.get("name") != name or info.get("trial") != number:
            continue
        value = goal_value(reader.summary(commit).get("metrics"), _goal_key(info))
        given = info.get("values")
        values: dict[str, object] = dict(given) if isinstance(given, dict) else {}
        steps = _steps(project, tree, _goal_key(info))
        trial = PastTrial(number, values, record.status, value, steps)
        past.append((trial, info, record.command))
    return past


def _goal_key(info: Mapping[str, object]) -> str:
    goal = info.get("goal")
    return str(goal.get("key")) if isinstance(goal, dict) else ""


def _steps(project: Project, tree: pygit2.Tree, key: str) -> tuple[tuple[float, float], ...]:
    """The goal's series as the trial logged it, for a pruner to compare new trials with."""
    from gitexp.core.metrics import series_key_path
    from gitexp.core.runinfo import SERIES_DIR

    data = project.git.read_blob(tree, f"{SERIES_DIR}/{series_key_path(key)}")
    rows = []
    for line in (data or b"").split(b"\n")[1:]:
        step, _tab, value = line.partition(b"\t")
        with contextlib.suppress(ValueError):
            rows.append((float(step), float(value)))
    return tuple(rows)


def goal_value(metrics: object, key: str) -> float | None:
    """The goal's value among an experiment's metrics (``{file: {…}}``), if a number."""
    if not isinstance(metrics, dict):
        return None
    file, sep, bare = key.rpartition(":")
    for path, doc in metrics.items():
        if sep and path != file:
            continue
        value = lookup(doc, bare if sep else key)
        if (
            not is_missing(value)
            and isinstance(value, (int, float))
            and not isinstance(value, bool)
        ):
            return float(value)
    return None


def _running_numbers(runs: Path, name: str) -> set[int]:
    """Numbers of this sweep's trials going on now (their journals are alive).

    A folder without a journal yet, or whose run is gone, holds no trial: a run that
    died before its journal was written never ran, and one that died after is
    recorded ``crashed`` (`crashed.recover`) before the plan is made.
    """
    numbers = set()
    for found in journals(runs):
        match = _NUMBERED.match(found.name)
        if match and match.group("name") == name and found.alive():
            numbers.add(int(match.group("number")))
    return numbers
