"""Cases (one operation at one size) and how they are measured.

Each run of a case times gitexp, then DVC, then the bare command (when there is
one), one after the other, so that both tools see the same moment of a noisy
machine; the ratio is computed run by run and its median reported. One warm-up run
of each command comes first and is not counted.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

from harness.timing import CommandFailed, Sample, Step, run_once

NO_DVC = "DVC not run (--quick or --no-dvc)"
"""The note of a case when DVC is left out of the whole run (said once, above the table)."""


@dataclass
class Case:
    """One operation at one workload size, for gitexp and (when it has one) DVC."""

    operation: str
    size: int
    unit: str
    gitexp: Step | None
    dvc: Step | None = None
    bare: Step | None = None
    """The same work without any tool (``true``, ``cp -r``): gitexp's overhead over it."""
    dvc_note: str = ""
    unavailable: str = ""
    group: str = ""


@dataclass
class Stats:
    """The timed runs of one command."""

    times: list[float]
    peak_rss_kib: list[int]

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def to_json(self) -> dict[str, object]:
        return {
            "times_s": [round(t, 4) for t in self.times],
            "median_s": round(self.median, 4),
            "peak_rss_mib": round(max(self.peak_rss_kib) / 1024, 1),
        }


@dataclass
class Result:
    """What measuring a case gave."""

    case: Case
    status: str = "ok"
    """``ok``, ``unavailable`` (gitexp has no such command yet) or ``failed``."""
    message: str = ""
    gitexp: Stats | None = None
    dvc: Stats | None = None
    bare: Stats | None = None
    ratios: list[float] = field(default_factory=list)
    """gitexp time / DVC time, run by run."""
    bare_ratios: list[float] = field(default_factory=list)
    overheads: list[float] = field(default_factory=list)
    """gitexp time - bare time, run by run."""

    @property
    def ratio(self) -> float | None:
        return statistics.median(self.ratios) if self.ratios else None

    @property
    def bare_ratio(self) -> float | None:
        return statistics.median(self.bare_ratios) if self.bare_ratios else None

    @property
    def overhead(self) -> float | None:
        return statistics.median(self.overheads) if self.overheads else None

    def to_json(self) -> dict[str, object]:
        case = self.case
        doc: dict[str, object] = {
            "group": case.group,
            "operation": case.operation,
            "size": case.size,
            "unit": case.unit,
            "status": self.status,
        }
        if self.message:
            doc["message"] = self.message
        if case.dvc_note:
            doc["dvc_note"] = case.dvc_note
        for name in ("gitexp", "dvc", "bare"):
            stats = getattr(self, name)
            doc[name] = stats.to_json() if stats else None
        if case.bare is not None:
            doc["bare_command"] = " ".join(case.bare.argv)
        doc["ratio_per_run"] = [round(r, 4) for r in self.ratios]
        doc["ratio_median"] = _round(self.ratio)
        doc["bare_ratio_median"] = _round(self.bare_ratio)
        doc["overhead_median_s"] = _round(self.overhead)
        return doc


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def measure(case: Case, repeats: int, env: dict[str, str], scratch: Path) -> Result:
    """Warm up, then time ``repeats`` runs of each command of ``case``."""
    result = Result(case)
    if case.unavailable or case.gitexp is None:
        result.status = "unavailable"
        result.message = case.unavailable
        return result
    steps = {"gitexp": case.gitexp, "dvc": case.dvc, "bare": case.bare}
    samples: dict[str, list[Sample]] = {name: [] for name, step in steps.items() if step}
    for round_number in range(repeats + 1):
        for name in list(samples):
            try:
                sample = run_once(steps[name], scratch / name, env)  # type: ignore[arg-type]
            except CommandFailed as exc:
                if name == "gitexp":
                    result.status, result.message = "failed", str(exc)
                    return result
                case.dvc_note = f"DVC failed: {exc}" if name == "dvc" else str(exc)
                del samples[name]
                continue
            if round_number > 0:
                samples[name].append(sample)
    _fill(result, samples)
    return result


def _fill(result: Result, samples: dict[str, list[Sample]]) -> None:
    def stats(name: str) -> Stats | None:
        runs = samples.get(name)
        if not runs:
            return None
        return Stats([s.seconds for s in runs], [s.peak_rss_kib for s in runs])

    result.gitexp, result.dvc, result.bare = stats("gitexp"), stats("dvc"), stats("bare")
    g = samples["gitexp"]
    if result.dvc:
        result.ratios = [a.seconds / b.seconds for a, b in zip(g, samples["dvc"], strict=True)]
    if result.bare:
        pairs = list(zip(g, samples["bare"], strict=True))
        result.bare_ratios = [a.seconds / b.seconds for a, b in pairs]
        result.overheads = [a.seconds - b.seconds for a, b in pairs]
