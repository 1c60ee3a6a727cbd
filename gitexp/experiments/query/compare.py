"""``gitexp compare A B``: the experiments of two branches (or any commit-ishes) side by side.

A side's experiments are those whose baseline is reachable from its tip and not from
the other's: the work done on that branch since the two parted. When a side has no
commit of its own (its tip lies in the other's history, as ``main`` does for a
feature branch just made from it), its experiments are all those reachable from it,
so a feature branch can be compared with the ``main`` it came from.

For each side: how many ran and failed, the best by the metric, the median and
spread of the successful runs; then the params, code files, data and artifacts that
differ between the two bests, from a git tree diff. "Best" follows the metric's goal
(`gitexp.core.goals`): ``--goal``, else ``goals:`` in ``gitexp.yaml``, else the
metric's name; with none of them compare refuses rather than guess a direction.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import pygit2

from gitexp.core.formats import to_json_value
from gitexp.core.goals import DIRECTIONS, Direction, resolve_goal
from gitexp.core.results import JsonResult
from gitexp.errors import NotFoundError, UsageError
from gitexp.experiments.query import diff as diff_mod
from gitexp.experiments.query.results import ArtifactChange, FileChange
from gitexp.experiments.query.select import Row, is_missing, project_experiments
from gitexp.git.repo import GitRepo
from gitexp.project import Project, config_at

Doc = dict[str, object]


@dataclass
class _Side:
    spec: str
    tip: str
    scope: str
    rows: list[Doc]


@dataclass(frozen=True, slots=True)
class Ranking:
    """How to rank: the metric (None: the first key of the first metrics file) and goals.

    ``goal`` is what the user asked for (``--goal``); ``goals`` is ``goals:`` of
    ``gitexp.yaml``; ``metrics_files`` its ``metrics:`` list, in order.
    """

    metric: str | None = None
    goal: Direction | None = None
    goals: Mapping[str, Direction] = field(default_factory=dict)
    metrics_files: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class CompareBest:
    """A side's best experiment by the metric: its name, commits, value and data."""

    name: str
    commit: str
    baseline: str | None
    value: float
    data: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class CompareSide(JsonResult):
    """One side of ``compare``: the commit-ish given, what it counts, its best, the spread.

    ``scope`` is ``own`` (experiments since the sides parted) or ``all`` (the side has
    no commit of its own, so all its experiments count). The statistics are over the
    successful runs that have the metric; None when there are none.
    """

    ref: str
    commit: str
    scope: str
    count: int
    failed: int
    with_metric: int
    best: CompareBest | None
    median: float | None
    min: float | None
    max: float | None
    stdev: float | None

    def to_json(self) -> dict[str, object]:
        """The side as ``compare --json`` prints it."""
        doc = {name: getattr(self, name) for name in self.__slots__}
        doc["best"] = None if self.best is None else dataclasses.asdict(self.best)
        return doc


@dataclass(frozen=True, slots=True)
class CompareResult(JsonResult):
    """``gitexp compare A B``: each side, and what differs between the two bests.

    ``metric_source`` is ``--metric`` or ``first`` (the first metrics key);
    ``goal_source`` says what chose the direction (``--goal``, ``gitexp.yaml``, the
    metric's ``name``). ``params`` is ``{file: {key: {"a", "b"}}}``; ``files`` and
    ``artifacts`` are as in ``diff --json``; all empty without two bests.
    """

    metric: str
    metric_source: str
    goal: str
    goal_source: str
    order: str
    a: CompareSide
    b: CompareSide
    params: Mapping[str, Mapping[str, Mapping[str, object]]]
    files: tuple[FileChange, ...]
    artifacts: tuple[ArtifactChange, ...]

    def to_json(self) -> dict[str, object]:
        """The ``compare --json`` document."""
        return {
            "metric": self.metric,
            "metric_source": self.metric_source,
            "goal": self.goal,
            "goal_source": self.goal_source,
            "order": self.order,
            "a": self.a.to_json(),
            "b": self.b.to_json(),
            "params": self.params,
            "files": [f.to_json() for f in self.files],
            "artifacts": [f.to_json() for f in self.artifacts],
        }


def compare_project(
    project: Project, a: str, b: str, metric: str | None, goal: str | None
) -> CompareResult:
    """``gitexp compare A B``: `compare` over every experiment of ``project``.

    Ranked by ``metric`` toward ``goal`` (``max``, ``min``, or None: gitexp.yaml or
    the metric's name decides). Raises `UsageError` for another goal.
    """
    if goal is not None and goal not in DIRECTIONS:
        raise UsageError(f"goal is {goal!r}; use max or min")
    config = project.config
    ranking = Ranking(
        metric=metric,
        goal="max" if goal == "max" else "min" if goal == "min" else None,
        goals=config.goals,
        metrics_files=config.metrics,
    )
    return compare(project.git, project_experiments(project), a, b, ranking)


def compare(git: GitRepo, rows: Sequence[Doc], a: str, b: str, ranking: Ranking) -> CompareResult:
    """Sides ``a`` and ``b`` (commit-ishes) side by side.

    Raises `NotFoundError` for a side that names no commit, or for a metric that no
    experiment of either side has, and `GoalError` when nothing says whether the
    metric is better high or low.
    """
    tip_a, tip_b = _tip(git, a), _tip(git, b)
    side_a, side_b = _sides(git, rows, (a, tip_a), (b, tip_b))
    key = _metric(side_a.rows + side_b.rows, ranking, a, b)
    goal = resolve_goal(key, ranking.goals, ranking.goal)
    stats_a = _stats(side_a, key, goal.descending)
    stats_b = _stats(side_b, key, goal.descending)
    between = _Between({}, (), ())
    if stats_a.best is not None and stats_b.best is not None:
        between = _between(git, rows, stats_a.best.name, stats_b.best.name)
    return CompareResult(
        metric=key,
        metric_source="--metric" if ranking.metric is not None else "first",
        goal=goal.direction,
        goal_source=goal.source,
        order="descending" if goal.descending else "ascending",
        a=stats_a,
        b=stats_b,
        params=between.params,
        files=between.files,
        artifacts=between.artifacts,
    )


class _Between(NamedTuple):
    params: dict[str, dict[str, dict[str, object]]]
    files: tuple[FileChange, ...]
    artifacts: tuple[ArtifactChange, ...]


def _tip(git: GitRepo, spec: str) -> str:
    try:
        return str(git.resolve_commit(spec).id)
    except NotFoundError:
        raise NotFoundError(
            f"'{spec}' is not a branch, tag or commit",
            hint="name a branch (git branch -a), a tag or a commit id",
        ) from None


def _sides(
    git: GitRepo, rows: Sequence[Doc], a: tuple[str, str], b: tuple[str, str]
) -> tuple[_Side, _Side]:
    memo: dict[tuple[str, str], bool] = {}

    def reach(baseline: str, tip: str) -> bool:
        if (baseline, tip) not in memo:
            try:
                memo[(baseline, tip)] = bool(baseline) and git.is_ancestor(baseline, tip)
            except (KeyError, ValueError, pygit2.GitError):
                memo[(baseline, tip)] = False
        return memo[(baseline, tip)]

    sides = []
    for (spec, tip), (_other, other_tip) in ((a, b), (b, a)):
        own_history = not git.is_ancestor(tip, other_tip)
        chosen = [
            r
            for r in rows
            if reach(str(r.get("baseline") or ""), tip)
            and not (own_history and reach(str(r.get("baseline") or ""), other_tip))
        ]
        sides.append(_Side(spec, tip, "own" if own_history else "all", chosen))
    return sides[0], sides[1]


def _metric(rows: Sequence[Doc], ranking: Ranking, a: str, b: str) -> str:
    """``--metric``, checked; else the first numeric key of the first metrics file.

    Files are tried in the order ``metrics:`` declares them, then any other file
    a run wrote metrics to.
    """
    metric = ranking.metric
    if metric is not None:
        if not any(_number(Row(r).value(metric)) is not None for r in rows):
            raise NotFoundError(
                f"no experiment on '{a}' or '{b}' has the metric '{metric}'",
                hint="see the metrics with `gitexp show`; dotted keys like val.acc, or FILE:KEY",
            )
        return metric
    flats = [Row(row).flat("metrics") for row in rows]
    seen = [file for flat in flats for file in flat]
    for file in dict.fromkeys([*ranking.metrics_files, *seen]):
        for flat in flats:
            for key, value in flat.get(file, {}).items():
                if _number(value) is not None:
                    return key
    raise NotFoundError(
        f"no experiment on '{a}' or '{b}' has a numeric metric to compare",
        hint="experiments write metrics to metrics.json (gitexp.log_metric)",
    )


def _number(value: object) -> float | None:
    if is_missing(value) or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _stats(side: _Side, metric: str, descending: bool) -> CompareSide:
    failed = sum(1 for r in side.rows if r.get("status") != "success")
    scored = [
        (value, r)
        for r in side.rows
        if r.get("status") == "success" and (value := _number(Row(r).value(metric))) is not None
    ]
    values = [v for v, _ in scored]
    best = None
    if scored:
        pick = max if descending else min
        value, row = pick(scored, key=lambda item: item[0])
        data = row.get("data") or {}
        best = CompareBest(
            name=str(row.get("name")),
            commit=str(row.get("commit")),
            baseline=None if row.get("baseline") is None else str(row.get("baseline")),
            value=value,
            data=data if isinstance(data, dict) else {},
        )
    return CompareSide(
        ref=side.spec,
        commit=side.tip,
        scope=side.scope,
        count=len(side.rows),
        failed=failed,
        with_metric=len(values),
        best=best,
        median=statistics.median(values) if values else None,
        min=min(values) if values else None,
        max=max(values) if values else None,
        stdev=statistics.pstdev(values) if values else None,
    )


def _between(git: GitRepo, rows: Sequence[Doc], name_a: str, name_b: str) -> _Between:
    """Params, code files, data and artifacts that differ between the two bests."""
    docs = {str(r.get("name")): r for r in rows}
    row_a, row_b = Row(docs[name_a]), Row(docs[name_b])
    params = _params_diff(row_a, row_b)
    commit_a = git.lookup_commit(str(row_a.doc["commit"]))
    commit_b = git.lookup_commit(str(row_b.doc["commit"]))
    tree_diff = diff_mod.diff_sides(git, diff_mod.side_of(commit_a), diff_mod.side_of(commit_b))
    config = config_at(git, commit_b.tree)
    results = {*config.params, *config.metrics}
    plots = tuple(p.rstrip("/") + "/" for p in config.plots)
    files = [
        f
        for f in tree_diff.files
        if f.path not in results and not f.path.startswith(plots) and f.path not in config.plots
    ]
    return _Between(params, tuple(files), tree_diff.artifacts)


def _params_diff(a: Row, b: Row) -> dict[str, dict[str, dict[str, object]]]:
    flat_a, flat_b = a.flat("params"), b.flat("params")
    out: dict[str, dict[str, dict[str, object]]] = {}
    for file in [*flat_a, *(f for f in flat_b if f not in flat_a)]:
        left, right = flat_a.get(file, {}), flat_b.get(file, {})
        changes = {}
        for key in [*left, *(k for k in right if k not in left)]:
            x, y = left.get(key), right.get(key)
            if key in left and key in right and x == y and type(x) is type(y):
                continue
            changes[key] = {"a": to_json_value(x), "b": to_json_value(y)}
        if changes:
            out[file] = changes
    return out
