"""Search spaces in ``-S``: ``choice``, ``range``, ``uniform``, ``loguniform``, ``int``, ``intlog``.

``-S 'train.lr=loguniform(1e-4,1e-1)'`` asks a sweep to search a key instead of
walking a grid. A space is a pure value: it is parsed here, written into each
trial's ``run.json`` as its text (``sweep.space``), and parsed back from there to
rebuild a study, so a sweep needs no database. Which sampler draws from it is the
driver's business; nothing here imports one.

Bounds: ``range(lo,hi[,step])`` excludes ``hi``, as Python's ``range`` does;
``uniform``, ``loguniform``, ``int`` and ``intlog`` include both bounds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from gitexp.core.params import Override, format_value, parse_values
from gitexp.errors import ParamsError, UsageError

Kind = Literal["choice", "range", "uniform", "loguniform", "int", "intlog"]
KINDS: tuple[Kind, ...] = ("choice", "range", "uniform", "loguniform", "int", "intlog")

_CALL = re.compile(r"^\s*([A-Za-z_]\w*)\((.*)\)\s*$", re.DOTALL)
_HINT = (
    "write choice(a,b,...), range(lo,hi[,step]), uniform(lo,hi), loguniform(lo,hi), "
    "int(lo,hi) or intlog(lo,hi); quote a value that only looks like one: -S key='f(x)'"
)


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched key's space: its kind and bounds, or its choices.

    For ``range``, ``high`` is the last value the range reaches (inclusive), so every
    kind but ``choice`` is a closed interval ``[low, high]`` with an optional ``step``.
    """

    kind: Kind
    low: float = 0.0
    high: float = 0.0
    step: float | None = None
    choices: tuple[object, ...] = ()
    integer: bool = False

    @property
    def log(self) -> bool:
        """Whether values are drawn evenly on a log scale."""
        return self.kind in ("loguniform", "intlog")

    def text(self) -> str:
        """The space as a user writes it after ``KEY=``; `parse_dimension` reads it back."""
        if self.kind == "choice":
            return f"choice({','.join(_quoted(c) for c in self.choices)})"
        low, high = _number(self.low, self.integer), _number(self.high, self.integer)
        if self.kind == "range":
            end = _number(round(self.high + (self.step or 1), 12), self.integer)
            return f"range({low},{end},{_number(self.step or 1, self.integer)})"
        return f"{self.kind}({low},{high})"

    def grid_values(self) -> tuple[object, ...]:
        """Every value of a finite space (choice, range, int), in order; () otherwise."""
        if self.kind == "choice":
            return self.choices
        if self.kind == "int" or (self.kind == "range" and self.integer):
            step = int(self.step or 1)
            return tuple(range(int(self.low), int(self.high) + 1, step))
        if self.kind == "range" and self.step:
            count = round((self.high - self.low) / self.step) + 1
            return tuple(round(self.low + i * self.step, 12) for i in range(count))
        return ()


def grid_size(dims: Sequence[Dimension]) -> int | None:
    """How many points the spaces make together; None when one is continuous.

    >>> grid_size([parse_dimension("choice(a,b)"), parse_dimension("int(1,3)")])
    6
    """
    size = 1
    for dim in dims:
        values = dim.grid_values()
        if not values:
            return None
        size *= len(values)
    return size


@dataclass(frozen=True, slots=True)
class SearchKey:
    """A ``-S`` whose value is a space: where it writes, and the space it searches."""

    file: str | None
    key: str
    add: bool | None
    dimension: Dimension

    @property
    def label(self) -> str:
        """The key as the user wrote it before ``=``: ``[+][FILE:]KEY``."""
        prefix = "+" if self.add else ""
        return f"{prefix}{self.file}:{self.key}" if self.file else f"{prefix}{self.key}"

    def override(self, value: object) -> Override:
        """The one-value override that sets this key to ``value`` for one trial."""
        text = f"{self.label}={format_value(value)}"
        return Override(self.file, self.key, (value,), self.add, text)


def is_search(spec: str) -> bool:
    """Whether a ``-S`` argument's value is a call (a space, or a misspelt one)."""
    _lhs, eq, rhs = spec.partition("=")
    return bool(eq) and _CALL.match(rhs) is not None


def parse_search(spec: str) -> SearchKey:
    """Parse ``[+][FILE:]KEY=KIND(args)``; `UsageError` (exit 2) for a bad space.

    >>> parse_search("lr=loguniform(1e-4,1e-1)").dimension.text()
    'loguniform(0.0001,0.1)'
    """
    lhs, _eq, rhs = spec.partition("=")
    match = _CALL.match(rhs)
    if match is None:
        raise UsageError(f"'{spec}' is not a search space", hint=_HINT)
    try:
        target = _target(lhs, spec)
    except ParamsError as exc:
        message = exc.message.replace(f"'{lhs}=0'", f"'{spec}'")
        raise UsageError(message, hint=exc.hint) from None
    return SearchKey(target.file, target.key, target.add, parse_dimension(rhs, spec))


def parse_dimension(text: str, spec: str | None = None) -> Dimension:
    """A space from its text, ``KIND(args)``; `UsageError` naming ``spec`` when wrong."""
    where = spec or text
    match = _CALL.match(text)
    if match is None:
        raise UsageError(f"'{where}' is not a search space", hint=_HINT)
    kind, inner = match.group(1), match.group(2)
    if kind not in KINDS:
        raise UsageError(f"unknown search space '{kind}' in '{where}'", hint=_HINT)
    try:
        args = parse_values(inner, where) if inner.strip() else ()
    except ParamsError as exc:
        raise UsageError(exc.message, hint=_HINT) from None
    if kind == "choice":
        return _choice(args, where)
    return _numeric(kind, args, where)


def _target(lhs: str, spec: str) -> Override:
    from gitexp.core.params import parse_override

    return parse_override(f"{lhs}=0" if lhs.strip() else spec)


def _choice(args: tuple[object, ...], where: str) -> Dimension:
    if not args:
        raise UsageError(f"choice() in '{where}' has no values", hint="write choice(a,b,...)")
    unique = tuple(dict.fromkeys(format_value(a) for a in args))
    if len(unique) != len(args):
        raise UsageError(f"choice() in '{where}' lists a value twice", hint=_HINT)
    return Dimension("choice", choices=args)


def _numeric(kind: Kind, args: tuple[object, ...], where: str) -> Dimension:
    numbers = [a for a in args if isinstance(a, (int, float)) and not isinstance(a, bool)]
    wanted = (2, 3) if kind == "range" else (2,)
    if len(numbers) != len(args) or len(args) not in wanted:
        shape = "lo,hi[,step]" if kind == "range" else "lo,hi"
        raise UsageError(f"{kind}() in '{where}' needs numbers {shape}", hint=_HINT)
    if not all(math.isfinite(n) for n in numbers):
        raise UsageError(f"{kind}() in '{where}' needs finite numbers", hint=_HINT)
    low, high = float(numbers[0]), float(numbers[1])
    integer = all(isinstance(n, int) for n in numbers)
    if kind in ("int", "intlog") and not integer:
        raise UsageError(f"{kind}() in '{where}' needs whole numbers", hint=f"write {kind}(1,10)")
    if kind == "range":
        return _range(numbers, integer, where)
    if not low < high:
        raise UsageError(f"{kind}() in '{where}' needs lo < hi", hint=f"write {kind}(lo,hi)")
    if kind in ("loguniform", "intlog") and low <= 0:
        raise UsageError(f"{kind}() in '{where}' needs lo > 0 (a log scale)", hint=_HINT)
    return Dimension(kind, low, high, integer=kind in ("int", "intlog"))


def _range(numbers: list[int | float], integer: bool, where: str) -> Dimension:
    low, high = numbers[0], numbers[1]
    step = numbers[2] if len(numbers) == 3 else 1
    if step <= 0 or not low < high:
        raise UsageError(
            f"range() in '{where}' is empty",
            hint="write range(lo,hi[,step]) with lo < hi, step > 0",
        )
    count = math.ceil((high - low) / step - 1e-9)
    last = low + (count - 1) * step
    if integer:
        return Dimension("range", float(low), float(last), float(step), integer=True)
    return Dimension("range", float(low), round(last, 12), float(step))


def _number(value: float, integer: bool) -> str:
    return str(int(value)) if integer else format_value(float(value))


def _quoted(value: object) -> str:
    """A choice as ``choice(...)`` must hold it: quoted when it would read back otherwise."""
    text = format_value(value)
    if not isinstance(value, str):
        return text
    try:
        same = parse_values(text, text) == (value,)
    except ParamsError:
        same = False
    return text if same and "(" not in text and ")" not in text else _single_quoted(text)


def _single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "hyperband")


@dataclass(frozen=True, slots=True)
class SweepOptions:
    """How ``gitexp run`` searches, as its flags say; all unset: a grid or one run.

    ``--trials``, ``--sampler``, ``--goal``, ``--seed``, ``--prune`` and ``--resume``.
    """

    trials: int | None = None
    sampler: str | None = None
    goal: str | None = None
    seed: int | None = None
    prune: str | None = None
    resume: bool = False

    def searching(self, overrides: tuple[str, ...] | list[str]) -> bool:
        """Whether these options and ``-S`` arguments ask for a search, not a grid."""
        flags = (self.trials, self.sampler, self.seed, self.prune)
        return self.resume or any(f is not None for f in flags) or any(map(is_search, overrides))

    def check(self) -> None:
        """`UsageError` (exit 2) for a value no search takes."""
        if self.trials is not None and self.trials < 1:
            raise UsageError("--trials needs a number of trials from 1 up")
        if self.sampler is not None and self.sampler not in SAMPLERS:
            raise UsageError(f"unknown sampler '{self.sampler}'", hint="use --sampler tpe|random")
        if self.prune is not None and self.prune not in PRUNERS:
            raise UsageError(f"unknown pruner '{self.prune}'", hint="use --prune median|hyperband")
        if self.goal is not None:
            parse_goal_flag(self.goal)


def parse_goal_flag(text: str) -> tuple[str, str | None]:
    """``--goal KEY:max|min`` (or ``KEY`` alone): the key and its direction, if given.

    >>> parse_goal_flag("val.acc:max"), parse_goal_flag("loss")
    (('val.acc', 'max'), ('loss', None))
    """
    key, sep, direction = text.rpartition(":")
    if sep and direction.lower() in ("max", "min"):
        result: tuple[str, str | None] = (key.strip(), direction.lower())
    else:
        result = (text.strip(), None)
    if not result[0]:
        raise UsageError(f"--goal '{text}' names no metric", hint="write --goal KEY:max or KEY:min")
    return result
