"""How far a run's results and environment moved from another run's: pure comparisons.

``reproduce`` compares a run done again with the run it reproduces: each metric's old
and new value, their absolute and relative difference and whether that is within the
tolerance (absolute, or ``X%`` relative; default exact), and every difference in
Python, platform and installed packages.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from gitexp.errors import UsageError


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How much a metric may move: ``value`` absolute, or a fraction of it when ``relative``."""

    value: float = 0.0
    relative: bool = False

    def describe(self) -> str:
        """``exact``, ``0.01`` or ``1%``: as the user would write it."""
        if self.value == 0:
            return "exact"
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


def parse_tolerance(text: str | float | None) -> Tolerance:
    """``0.01`` (absolute) or ``1%`` (relative); None is exact. `UsageError` otherwise."""
    if text is None:
        return Tolerance()
    raw = str(text).strip()
    relative = raw.endswith("%")
    try:
        value = float(raw[:-1] if relative else raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise UsageError(
            f"--tolerance is {raw!r}; give a number of 0 or more, or a percentage",
            hint="for example --tolerance 0.001 (absolute) or --tolerance 1% (relative)",
        )
    return Tolerance(value / 100 if relative else value, relative)


@dataclass(frozen=True, slots=True)
class MetricDrift:
    """One metric in both runs: ``old`` and ``new`` (None when a run lacks it)."""

    key: str
    old: object
    new: object
    abs_diff: float | None
    rel_diff: float | None
    within: bool

    def to_json(self) -> dict[str, object]:
        """The metric as ``reproduce --json`` prints it."""
        return {
            "key": self.key,
            "old": self.old,
            "new": self.new,
            "abs_diff": self.abs_diff,
            "rel_diff": self.rel_diff,
            "within_tolerance": self.within,
        }


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def metric_drift(key: str, old: object, new: object, tolerance: Tolerance) -> MetricDrift:
    """Compare one metric; non-numbers must be equal, a metric one run lacks never matches."""
    a, b = _number(old), _number(new)
    if a is None or b is None:
        same = old == new and old is not None
        return MetricDrift(key, old, new, None, None, same)
    diff = abs(b - a)
    rel = diff / abs(a) if a != 0 else (0.0 if diff == 0 else math.inf)
    allowed = tolerance.value * abs(a) if tolerance.relative else tolerance.value
    within = diff == 0 or diff <= allowed
    return MetricDrift(key, old, new, diff, None if math.isinf(rel) else rel, within)


def flatten(doc: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """``{"a": {"b": 1}}`` as ``{"a.b": 1}``: metrics by dotted key."""
    flat: dict[str, object] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def compare_metrics(
    old: Mapping[str, Mapping[str, object]],
    new: Mapping[str, Mapping[str, object]],
    tolerance: Tolerance,
) -> list[MetricDrift]:
    """Every metric of either run (``{file: doc}``), by key; ``FILE:key`` with several files."""
    files = list(dict.fromkeys([*old, *new]))
    drifts = []
    for file in files:
        a, b = flatten(old.get(file) or {}), flatten(new.get(file) or {})
        for key in dict.fromkeys([*a, *b]):
            shown = key if len(files) == 1 else f"{file}:{key}"
            drifts.append(metric_drift(shown, a.get(key), b.get(key), tolerance))
    return drifts


@dataclass(frozen=True, slots=True)
class EnvChange:
    """One difference in where the runs ran: ``python``, ``platform``, ``host`` or a package."""

    kind: str
    name: str
    old: str | None
    new: str | None

    def to_json(self) -> dict[str, object]:
        """The difference as ``reproduce --json`` prints it."""
        return {"kind": self.kind, "name": self.name, "old": self.old, "new": self.new}

    def describe(self) -> str:
        """``numpy 1.26.4 -> 2.0.0`` (``(none)`` for a side that lacks it)."""
        return f"{self.name} {self.old or '(none)'} -> {self.new or '(none)'}"


def environment_changes(old: Mapping[str, object], new: Mapping[str, object]) -> list[EnvChange]:
    """Python, platform and host differences, then every package added, removed or changed.

    ``old`` and ``new`` hold ``python``, ``platform``, ``host`` and ``packages``
    (``{name: version}``), as ``run.json`` records them.
    """
    changes = [
        EnvChange(
            field, field, str(old.get(field) or "") or None, str(new.get(field) or "") or None
        )
        for field in ("python", "platform", "host")
        if (old.get(field) or None) != (new.get(field) or None)
    ]
    a, b = old.get("packages") or {}, new.get("packages") or {}
    assert isinstance(a, Mapping) and isinstance(b, Mapping)  # noqa: S101 - run.json's shape
    for name in sorted(set(a) | set(b)):
        if a.get(name) != b.get(name):
            was, now = a.get(name), b.get(name)
            changes.append(
                EnvChange(
                    "package",
                    str(name),
                    None if was is None else str(was),
                    None if now is None else str(now),
                )
            )
    return changes
