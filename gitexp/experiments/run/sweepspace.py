"""How a search space is told to Optuna, and how Optuna's params come back as values.

A choice of numbers only (``-S lr=0.001,0.01,0.1``, ``choice(16,32,64)``) is an
ordered scale: Optuna draws its index among the sorted numbers, so TPE learns that
neighbours score alike, as it does for a range. Any other choice is categorical,
drawn as its ``-S`` text. Values go to the study and come back through one `Codec`
per key, so trials told again on ``--resume`` meet the same encoding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitexp.core.params import format_value
from gitexp.core.search import Dimension

if TYPE_CHECKING:
    import optuna


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
