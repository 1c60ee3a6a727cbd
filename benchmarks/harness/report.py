"""The results: a table, scaling fits, per-item comparisons, JSON and Markdown."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.measure import NO_DVC, Result

SUPER_LINEAR = 1.2
"""A local exponent above this is flagged: time grows clearly faster than size."""

HEADERS = ["operation", "size", "gitexp", "DVC", "gitexp/DVC", "gitexp peak mem", "notes"]


def format_size(size: int, unit: str) -> str:
    """``10,000 files``, ``1.0 GiB``: the workload size as a reader wants it."""
    if unit.startswith("bytes"):
        value, suffix = float(size), "B"
        for suffix in ("B", "KiB", "MiB", "GiB", "TiB"):
            if value < 1024 or suffix == "TiB":
                break
            value /= 1024
        return f"{value:.0f} {suffix}" if suffix == "B" else f"{value:.1f} {suffix}"
    if not unit:
        return f"{size:,}"
    word = unit.split()[0]
    if size == 1 and word.endswith("s"):
        word = word[:-1]
    return f"{size:,} {word}"


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def row(result: Result) -> list[str]:
    """One table row."""
    case = result.case
    size = format_size(case.size, case.unit)
    if result.status != "ok":
        return [case.operation, size, result.status, "—", "—", "—", result.message]
    assert result.gitexp is not None
    notes: list[str] = []
    if result.overhead is not None and case.bare is not None:
        bare = case.bare.label or " ".join([Path(case.bare.argv[0]).name, *case.bare.argv[1:2]])
        notes.append(f"{seconds(result.overhead)} over `{bare}` ({result.bare_ratio:.1f}x)")
    if result.dvc is None and case.dvc_note and case.dvc_note != NO_DVC:
        notes.append(case.dvc_note)
    ratio = f"{result.ratio:.2f}x" if result.ratio is not None else "—"
    memory = f"{max(result.gitexp.peak_rss_kib) / 1024:.0f} MiB"
    dvc = seconds(result.dvc.median) if result.dvc else "—"
    return [
        case.operation,
        size,
        seconds(result.gitexp.median),
        dvc,
        ratio,
        memory,
        "; ".join(notes),
    ]


def text_table(results: Sequence[Result], width: int = 60) -> str:
    """The table as aligned plain text (notes cut to ``width`` characters)."""
    rows = [[*r[:-1], _cut(r[-1], width)] for r in map(row, results)]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(HEADERS, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        cells = [
            c.rjust(w) if 2 <= i <= 5 else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def markdown_table(results: Sequence[Result]) -> str:
    """The table as Markdown (full notes)."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for r in map(row, results):
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
    return "\n".join(lines)


def _exponent(points: Sequence[tuple[int, float]]) -> float:
    """Least-squares slope of log(time) against log(size)."""
    xs = [math.log(n) for n, _t in points]
    ys = [math.log(t) for _n, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def scaling(results: Sequence[Result], operations: Iterable[str]) -> list[dict[str, object]]:
    """For each operation and tool with 2+ sizes: the exponent k in time ~ size^k.

    ``overall`` fits every size (start-up time pulls it below 1 at small sizes);
    ``last_step`` is the exponent between the two largest sizes, the one that shows
    how the time grows from there on; a last step above `SUPER_LINEAR` is flagged.
    """
    fits: list[dict[str, object]] = []
    for operation in operations:
        for tool in ("gitexp", "dvc"):
            points = sorted(
                (r.case.size, getattr(r, tool).median)
                for r in results
                if r.case.operation == operation and r.status == "ok" and getattr(r, tool)
            )
            if len(points) < 2:
                continue
            last = _exponent(points[-2:])
            fits.append(
                {
                    "operation": operation,
                    "tool": tool,
                    "sizes": [n for n, _t in points],
                    "medians_s": [round(t, 4) for _n, t in points],
                    "overall_exponent": round(_exponent(points), 3),
                    "last_step_exponent": round(last, 3),
                    "super_linear": last > SUPER_LINEAR,
                }
            )
    return fits


def scaling_lines(fits: Sequence[dict[str, object]]) -> list[str]:
    lines = []
    for fit in fits:
        sizes = fit["sizes"]
        assert isinstance(sizes, list)
        flag = "  << SUPER-LINEAR: look for a hidden quadratic step" if fit["super_linear"] else ""
        lines.append(
            f"{fit['operation']} [{fit['tool']}]: time ~ size^{fit['overall_exponent']:.2f} over "
            f"{sizes[0]:,}→{sizes[-1]:,}; last step {sizes[-2]:,}→{sizes[-1]:,}: "
            f"size^{fit['last_step_exponent']:.2f}{flag}"
        )
    return lines


def per_item(results: Sequence[Result]) -> list[dict[str, object]]:
    """Where DVC stopped short of a size: per-item times at the largest size both reached.

    For each bigger size gitexp reached alone, gitexp's time per item there is set
    against DVC's per item at that largest common size, and DVC's time is extrapolated
    linearly: right for work that grows with the count, an overstatement for DVC's
    cached (warm) reads, which grow more slowly.
    """
    out: list[dict[str, object]] = []
    operations = dict.fromkeys(r.case.operation for r in results)
    for operation in operations:
        mine = [r for r in results if r.case.operation == operation and r.status == "ok"]
        both = [r for r in mine if r.dvc is not None]
        alone = [r for r in mine if r.dvc is None]
        if not both or not alone:
            continue
        common = max(both, key=lambda r: r.case.size)
        assert common.dvc is not None and common.gitexp is not None
        n = common.case.size
        dvc_each = common.dvc.median / n
        for r in sorted(alone, key=lambda r: r.case.size):
            if r.case.size <= n:
                continue
            assert r.gitexp is not None
            mine_each = r.gitexp.median / r.case.size
            out.append(
                {
                    "operation": operation,
                    "unit": r.case.unit.split()[0],
                    "largest_common_size": n,
                    "size": r.case.size,
                    "gitexp_per_item_ms": round(mine_each * 1000, 4),
                    "gitexp_per_item_at_common_ms": round(common.gitexp.median / n * 1000, 4),
                    "dvc_per_item_at_common_ms": round(dvc_each * 1000, 4),
                    "ratio": round(mine_each / dvc_each, 4),
                    "dvc_extrapolated_s": round(dvc_each * r.case.size, 1),
                }
            )
    return out


def per_item_lines(items: Sequence[dict[str, object]]) -> list[str]:
    lines = []
    for item in items:
        lines.append(
            f"{item['operation']} at {item['size']:,} {item['unit']}: gitexp "
            f"{item['gitexp_per_item_ms']:.3f} ms per item; "
            f"DVC {item['dvc_per_item_at_common_ms']:.3f} ms per item at "
            f"{item['largest_common_size']:,}, the largest size both reached "
            f"(ratio {item['ratio']:.3f}; DVC at this size, if linear: "
            f"~{item['dvc_extrapolated_s']:,} s)"
        )
    return lines


def write_json(path: Path, doc: dict[str, object]) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n")


def markdown_document(
    doc: dict[str, object],
    results: Sequence[Result],
    fits: Sequence[dict[str, object]],
    items: Sequence[dict[str, object]],
) -> str:
    """A Markdown page of one run: when, where, with what, and the figures."""
    machine = doc.get("machine") or {}
    versions = doc.get("versions") or {}
    assert isinstance(machine, dict) and isinstance(versions, dict)
    lines = [
        f"# Benchmark results ({doc.get('mode')} run)",
        "",
        f"- Date: {doc.get('date')}; took {doc.get('duration_s')} s; "
        f"{doc.get('repeats')} timed runs per command after one warm-up",
        f"- Machine: {machine.get('cores')} cores ({machine.get('cpu')}), "
        f"{machine.get('memory_gib')} GiB memory, {machine.get('filesystem')} filesystem, "
        f"{machine.get('platform')}",
        f"- Load average at start {machine.get('load_average')}, "
        f"at end {machine.get('load_average_end')}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        markdown_table(results),
        "",
    ]
    if fits:
        lines += (
            ["Scaling (time ~ size^k):", ""] + [f"- {line}" for line in scaling_lines(fits)] + [""]
        )
    if items:
        lines += ["Per item, where DVC stopped short:", ""]
        lines += [f"- {line}" for line in per_item_lines(items)] + [""]
    return "\n".join(lines)
