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
) -> list[int]:
    """The rows a report opens with: the best experiment, then what it is compared against.

    The best is the successful row with the best value of the first metric with a
    goal (the first of ``goals:`` in gitexp.yaml that is a column, else the first
    column whose name gives one). It is compared against its baseline: among the other
    successful rows run on the same baseline commit, the one whose params differ least
    from that commit's (``changed``; 0 is the baseline as it was). Without any goal,
    the newest successful row alone; failed runs are never picked.
    """
    goals = column_goals(labels, declared)
    ranked = [i for i, goal in enumerate(goals) if goal is not None]
    by_yaml = [labels.index(key) for key in declared if key in labels and goals[labels.index(key)]]
    columns = by_yaml or ranked
    best: list[int] = []
    if columns:
        best = best_rows(statuses, [row[columns[0]] for row in scores], goals[columns[0]])
    if not best:
        newest = next((i for i, status in enumerate(statuses) if status == COUNTED), None)
        return [] if newest is None else [newest]
    top = best[0]
    peers = [
        i
        for i, status in enumerate(statuses)
        if i != top and status == COUNTED and baselines[i] == baselines[top]
    ]
    if not peers:
        return [top]
    return [top, min(peers, key=lambda i: (changed[i], i))]
