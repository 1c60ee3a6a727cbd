"""The PNG chart of a results file: gitexp/DVC ratios, and gitexp's own times.

Runs in-process when matplotlib is importable, else as a script
(``python chart.py RESULTS.json OUT.png``) in the harness's chart environment.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def draw(results_path: Path, png: Path) -> None:
    """Draw ``png`` from the results JSON at ``results_path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    doc = json.loads(results_path.read_text())
    entries = [e for e in doc["results"] if e["status"] == "ok"]
    rated = [e for e in entries if e.get("ratio_median") is not None]
    timed = [e for e in entries if e.get("gitexp")]
    height = 1.2 + 0.32 * max(len(rated), len(timed), 3)
    fig, (left, right) = plt.subplots(1, 2, figsize=(15, height), constrained_layout=True)
    _ratios(left, rated)
    _times(right, timed)
    when = doc.get("date", "")
    fig.suptitle(f"gitexp benchmarks, {doc.get('mode', '')} run, {when}", fontsize=12)
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _name(entry: dict[str, object]) -> str:
    return f"{entry['operation']} · {entry['size_label']}"


def _ratios(ax: object, rated: list[dict[str, object]]) -> None:
    ax.set_title("gitexp time / DVC time (median of per-run ratios; < 1: gitexp faster)")  # type: ignore[attr-defined]
    if not rated:
        ax.text(0.5, 0.5, "DVC not run", ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]
        ax.set_axis_off()  # type: ignore[attr-defined]
        return
    names = [_name(e) for e in rated][::-1]
    values = [float(e["ratio_median"]) for e in rated][::-1]  # type: ignore[arg-type]
    lows = [v - min(e["ratio_per_run"]) for v, e in zip(values, rated[::-1], strict=True)]  # type: ignore[type-var, operator]
    highs = [max(e["ratio_per_run"]) - v for v, e in zip(values, rated[::-1], strict=True)]  # type: ignore[type-var, operator]
    colors = ["#2a9d8f" if v < 1 else "#e76f51" for v in values]
    ax.barh(names, values, color=colors, xerr=[lows, highs], capsize=2)  # type: ignore[attr-defined]
    ax.axvline(1.0, color="black", linewidth=1)  # type: ignore[attr-defined]
    ax.set_xscale("log")  # type: ignore[attr-defined]
    ax.set_xlim(
        min(v - lo for v, lo in zip(values, lows, strict=True)) / 2,  # type: ignore[attr-defined]
        max(2.0, max(v + hi for v, hi in zip(values, highs, strict=True)) * 3),
    )
    for y, (v, hi) in enumerate(zip(values, highs, strict=True)):
        ax.text((v + hi) * 1.08, y, f"{v:.2f}x", va="center", fontsize=8)  # type: ignore[attr-defined]


def _times(ax: object, timed: list[dict[str, object]]) -> None:
    ax.set_title("gitexp median time (s)")  # type: ignore[attr-defined]
    if not timed:
        ax.text(0.5, 0.5, "nothing measured", ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]
        ax.set_axis_off()  # type: ignore[attr-defined]
        return
    names = [_name(e) for e in timed][::-1]
    values = [float(e["gitexp"]["median_s"]) for e in timed][::-1]  # type: ignore[index]
    ax.barh(names, values, color="#457b9d")  # type: ignore[attr-defined]
    ax.set_xscale("log")  # type: ignore[attr-defined]
    ax.set_xlim(min(values) / 4, max(values) * 3)  # type: ignore[attr-defined]
    for y, v in enumerate(values):
        label = f" {v * 1000:.0f} ms" if v < 1 else f" {v:.2f} s"
        ax.text(v, y, label, va="center", fontsize=8)  # type: ignore[attr-defined]


if __name__ == "__main__":
    draw(Path(sys.argv[1]), Path(sys.argv[2]))
