"""How a search space is told to Optuna, and how Optuna's params come back as values.

A choice of numbers only (``-S lr=0.001,0.01,0.1``, ``choice(16,32,64)``) is an
ordered scale: Optuna draws its index among the sorted numbers, so TPE learns that
neighbours score alike, as it does for a range. Any other choice is categorical,
drawn as its ``-S`` text. Values go to the study and come back through one `Codec`
per key, so trials told again on ``--resume`` meet the same encoding. `TriedPoints`
keeps a finite space's points from being run twice.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gitexp.core.params import format_value
from gitexp.core.search import Dimension, grid_size

if TYPE_CHECKING:
    import optuna

    from gitexp.experiments.run.sweepplan import SweepPlan


class Codec:
    """One searched key: its Optuna distribution, and values to and from its params."""

    def __init__(self, dim: Dimension) -> None:
        self.dim = dim
        self.order: tuple[object, ...] | None = None
        if dim.kind == "choice" and all(_is_number(c) for c in dim.choices):
            self.order = tuple(sorted(dim.choices, key=float))  # type: ignore[arg-type]
        self.texts = {format_value(c): c for c in dim.choices}

    def distribution(self) -> optuna.distributions.BaseDistribution:
        """The distribution Optuna draws this key from."""
        from optuna import distributions as d

        dim = self.dim
        if self.order is not None:
            return d.IntDistribution(0, len(self.order) - 1)
        if dim.kind == "choice":
            return d.CategoricalDistribution(list(self.texts))
        if dim.integer:
            step = int(dim.step or 1)
            return d.IntDistribution(int(dim.low), int(dim.high), log=dim.log, step=step)
        return d.FloatDistribution(dim.low, dim.high, log=dim.log, step=dim.step)

    def encode(self, value: object) -> object:
        """A value as Optuna's param; `ValueError` for a choice the space does not have."""
        if self.order is not None:
            text = format_value(value)
            for index, choice in enumerate(self.order):
                if format_value(choice) == text:
                    return index
            raise ValueError(f"{text} is not one of the choices")
        return format_value(value) if self.dim.kind == "choice" else value

    def decode(self, param: object) -> object:
        """Optuna's param as the value a trial runs with."""
        if self.order is not None:
            return self.order[int(param)]  # type: ignore[call-overload]
        return self.texts[str(param)] if self.dim.kind == "choice" else param


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class TriedPoints:
    """The points of a finite space (choices, ranges, ints) a sweep has tried.

    A continuous space never repeats a point, so it is not tracked. Once every
    point was tried, repeats are allowed: ``--trials`` may exceed the space.
    """

    def __init__(self, plan: SweepPlan) -> None:
        self.labels = [k.label for k in plan.keys]
        self.values = [k.dimension.grid_values() for k in plan.keys]
        self.size = grid_size([k.dimension for k in plan.keys])
        self.seen: set[tuple[str, ...]] = set()
        self.rng = random.Random(plan.seed)  # noqa: S311 -- picks a point to try, no secret
        for past in plan.past:
            if set(past.values) == set(self.labels):
                self.seen.add(self._key(past.values))

    def take(self, values: Mapping[str, object]) -> bool:
        """Mark ``values`` tried; False when it was already and untried points remain."""
        if self.size is None:
            return True
        key = self._key(values)
        if key in self.seen and len(self.seen) < self.size:
            return False
        self.seen.add(key)
        return True

    def untried(self) -> dict[str, object] | None:
        """A point not tried yet, chosen by the seed; None when none is left (or too many)."""
        if self.size is None or self.size > MAX_ENUMERATED or len(self.seen) >= self.size:
            return None
        left = [c for c in itertools.product(*self.values) if self._key(c) not in self.seen]
        return dict(zip(self.labels, self.rng.choice(left), strict=True))

    def _key(self, values: Mapping[str, object] | Sequence[object]) -> tuple[str, ...]:
        if isinstance(values, Mapping):
            values = [values[label] for label in self.labels]
        return tuple(_same(v) for v in values)


MAX_ENUMERATED = 100_000


def _same(value: object) -> str:
    """A value's text, floats rounded as a grid's are, so one point has one key."""
    return format_value(round(value, 12) if isinstance(value, float) else value)
