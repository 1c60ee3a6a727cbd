"""Which way each metric column of the report is better, and which experiments are best.

A report that marks the wrong value as the best is worse than one that marks none, so
a column's goal comes from the same rules as everywhere else (`gitexp.core.goals`):
``goals:`` in gitexp.yaml, else the metric's name. A column whose goal neither knows
has none and is never marked. Only successful experiments count: a failed, interrupted
or crashed run's numbers are what it wrote before it stopped, not a result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from gitexp.core.goals import Direction, Goal, resolve_goal
from gitexp.errors import GoalError

COUNTED = "success"
"""The only status whose metrics can be the best."""
_NUMBERS = (int, float)
"""The types that rank (exactly: a bool is no number here, whatever Python says)."""


def ranking_data(
    labels: Sequence[str],
    scores: Sequence[Sequence[object]],
    statuses: Sequence[str],
    declared: Mapping[str, Direction],
) -> dict[str, object]:
    """``goals`` and ``best`` of the page data, for metric columns ``labels``.

    ``scores`` holds each row's values by column, as embedded (rounded), so the best
    here is the one the page finds among all rows; ``statuses`` each row's status.
    """
    goals = column_goals(labels, declared)
    return {
        "goals": [goal_data(goal) for goal in goals],
        "best": [
            best_rows(statuses, [row[column] for row in scores], goal)
            for column, goal in enumerate(goals)
        ],
    }


def column_goals(labels: Sequence[str], declared: Mapping[str, Direction]) -> list[Goal | None]:
    """The goal of each metric column, or None where no rule knows it.

    ``labels`` are the report's column labels (a key, or ``FILE:KEY``); ``declared``
    is ``goals:`` of gitexp.yaml, which comes before the name.
    """
    return [_known_goal(label, declared) for label in labels]


def goal_data(goal: Goal | None) -> dict[str, str] | None:
    """A goal as the page data writes it: ``{"dir": "max"|"min", "by": source}``."""
    return None if goal is None else {"dir": goal.direction, "by": goal.source}


def best_rows(statuses: Sequence[str], values: Sequence[object], goal: Goal | None) -> list[int]:
    """The indices of the rows whose value is the best by ``goal``; every one on a tie.

    Empty when the column has no goal or no successful row has a finite number.
    Booleans are not numbers here, whatever Python says.
    """
    if goal is None:
        return []
    # One pass with no call per value: the live UI ranks 10,000 rows on every change.
    numbers = [
        value
        if status == COUNTED and value.__class__ in _NUMBERS and math.isfinite(value)
        else None
        for status, value in zip(statuses, values, strict=True)
    ]
    counted = [number for number in numbers if number is not None]
    if not counted:
        return []
    top = max(counted) if goal.descending else min(counted)
    return [index for index, number in enumerate(numbers) if number == top]


def _known_goal(label: str, declared: Mapping[str, Direction]) -> Goal | None:
    try:
        return resolve_goal(label, declared)
    except GoalError:
        return None


def default_selection(
    labels: Sequence[str],
    scores: Sequence[Sequence[object]],
    statuses: Sequence[str],
    declared: Mapping[str, Direction],
    baselines: Sequence[str],
    changed: Sequence[int],
    commands: Sequence[object] | None = None,
) -> list[int]:
    """The rows a report opens with: the best experiment, then what it is compared against.

    The best is the successful row with the best value of the first metric with a
    goal (the first of ``goals:`` in gitexp.yaml that is a column, else the first
    column whose name gives one). It is compared against its baseline, like with like:
    among the other successful rows run on the same baseline commit that have a number
    for that metric (and ran the same command, where ``commands`` gives each row's),
    the one whose params differ least from that commit's (``changed``; 0 is the
    baseline as it was), those that report the same metrics as the best first. A run
    of another script on the same commit (a data preparation, an evaluation) reports
    other metrics: comparing the best against it would mean nothing. With no such row
    the best is shown alone. Without any goal, the newest successful row alone;
    failed runs are never picked.
    """
    column = _ranking_column(labels, declared)
    best: list[int] = []
    if column is not None:
        goal = column_goals([labels[column]], declared)[0]
        best = best_rows(statuses, [row[column] for row in scores], goal)
    if column is None or not best:
        newest = next((i for i, status in enumerate(statuses) if status == COUNTED), None)
        return [] if newest is None else [newest]
    top = best[0]
    peers = [
        i
        for i, status in enumerate(statuses)
        if i != top
        and status == COUNTED
        and baselines[i] == baselines[top]
        and _is_number(scores[i][column])
        and (commands is None or commands[i] == commands[top])
    ]
    if not peers:
        return [top]
    shape = _reported(scores[top])
    alike = [i for i in peers if _reported(scores[i]) == shape]
    return [top, min(alike or peers, key=lambda i: (changed[i], i))]


def _ranking_column(labels: Sequence[str], declared: Mapping[str, Direction]) -> int | None:
    """The metric column the best is found by: the first of ``goals:``, else by name."""
    goals = column_goals(labels, declared)
    by_yaml = [labels.index(key) for key in declared if key in labels and goals[labels.index(key)]]
    ranked = by_yaml or [i for i, goal in enumerate(goals) if goal is not None]
    return ranked[0] if ranked else None


def _is_number(value: object) -> bool:
    return value.__class__ in _NUMBERS and math.isfinite(value)


def _reported(row: Sequence[object]) -> tuple[int, ...]:
    """Which metric columns a row has a value in: what its command wrote."""
    return tuple(i for i, value in enumerate(row) if value is not None)
