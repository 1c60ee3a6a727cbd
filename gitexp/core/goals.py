"""Which way a metric is better: ``max`` or ``min``.

Ranking the wrong way is worse than not ranking: the "best" run would be the worst and
nothing would say so. So a goal comes from the user (``--goal``, then ``goals:`` in
``gitexp.yaml``) or from a short list of metric names whose direction is not in doubt;
for any other metric the command that ranks refuses and says how to declare one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gitexp.errors import ConfigError, GoalError

Direction = Literal["max", "min"]
DIRECTIONS: tuple[Direction, ...] = ("max", "min")

# The last dotted part of a metric key, lower-cased, names its direction (DESIGN
# section 2). ``rouge*`` and ``*_loss`` are patterns, handled in `goal_by_name`.
_MAX_NAMES = frozenset(
    (
        "acc",
        "accuracy",
        "auc",
        "roc_auc",
        "f1",
        "precision",
        "recall",
        "r2",
        "map",
        "ndcg",
        "bleu",
        "iou",
        "dice",
        "score",
        "reward",
    )
)
_MIN_NAMES = frozenset(
    ("loss", "error", "err", "mse", "mae", "rmse", "mape", "perplexity", "wer", "cer", "latency")
)


@dataclass(frozen=True, slots=True)
class Goal:
    """The direction a metric is ranked in, and where that direction came from.

    ``source`` is ``"--goal"``, ``"gitexp.yaml"`` or ``"name"`` (the metric's name
    says it), so output can tell the user why "best" means what it means.
    """

    metric: str
    direction: Direction
    source: str

    @property
    def descending(self) -> bool:
        """Whether higher is better."""
        return self.direction == "max"

    def describe(self) -> str:
        """``acc (higher is better, from its name)``: one phrase for output."""
        better = "higher" if self.descending else "lower"
        origin = {"--goal": "--goal", "gitexp.yaml": "goals: in gitexp.yaml"}.get(
            self.source, "its name"
        )
        return f"{self.metric} ({better} is better, by {origin})"


def goal_by_name(key: str) -> Direction | None:
    """The direction a metric's name implies, or None when its name does not say.

    The last part of the key decides, case-insensitively; a ``FILE:`` prefix is
    ignored and ``/`` (series keys like ``val/acc``) separates parts as ``.`` does.

    >>> goal_by_name("val.Accuracy"), goal_by_name("train_loss"), goal_by_name("lr")
    ('max', 'min', None)
    """
    last = key.rpartition(":")[2].replace("/", ".").rpartition(".")[2].lower()
    if last in _MAX_NAMES or last.startswith("rouge"):
        return "max"
    if last in _MIN_NAMES or last.endswith("_loss"):
        return "min"
    return None


def resolve_goal(
    metric: str, declared: Mapping[str, Direction], given: Direction | None = None
) -> Goal:
    """The goal of ``metric``: ``given`` (``--goal``), else ``declared``, else its name.

    ``declared`` is ``goals:`` of ``gitexp.yaml``, matched on the key as written, with
    or without a ``FILE:`` prefix. Raises `GoalError` when no source knows the
    direction: guessing would silently call the worst run the best.
    """
    if given is not None:
        return Goal(metric, given, "--goal")
    bare = metric.rpartition(":")[2]
    for key in (metric, bare):
        if key in declared:
            return Goal(metric, declared[key], "gitexp.yaml")
    by_name = goal_by_name(metric)
    if by_name is not None:
        return Goal(metric, by_name, "name")
    raise GoalError(
        f"gitexp does not know whether a higher or a lower '{metric}' is better",
        hint=f"declare it in gitexp.yaml (`goals: {{{bare}: max}}`, or min) "
        "or pass --goal max or --goal min",
    )


def parse_goals(raw: object, path: str) -> dict[str, Direction]:
    """``goals:`` of ``gitexp.yaml``: ``{KEY: max|min}``; `ConfigError` names a bad key."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            f"'goals' in {path} must be a mapping of metric keys to max or min",
            hint="for example goals: {acc: max, loss: min}",
        )
    goals: dict[str, Direction] = {}
    for key, value in raw.items():
        text = value.lower() if isinstance(value, str) else value
        if not isinstance(key, str) or not key or text not in DIRECTIONS:
            raise ConfigError(
                f"'goals.{key}' in {path} is {value!r}; it must be max or min",
                hint=f"for example goals: {{{key}: max}} when higher is better",
            )
        goals[key] = "max" if text == "max" else "min"
    return goals
