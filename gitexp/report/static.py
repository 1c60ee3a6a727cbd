"""Static images of step series with matplotlib, for papers and pull requests.

One panel per series key stacked in a column, every experiment one colour across
panels, one shared legend below. Uses matplotlib's object API (no pyplot), so no
global backend or figure state is touched. Output is reproducible: SVG ids are salted
with a fixed string and no creation date is written.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gitexp.report.data import RunLike
from gitexp.report.figures import colour, series_keys
from gitexp.report.html import PLOTS_EXTRA, MissingExtraError
from gitexp.report.labels import legend_labels

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def require_matplotlib() -> None:
    """`MissingExtraError` naming the install when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401 - only checking that it is there
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            "static images need matplotlib, which is not installed",
            hint=f"install the plots extra: {PLOTS_EXTRA}",
        ) from exc


def render_image(runs: Sequence[RunLike], fmt: str) -> bytes:
    """PNG or SVG bytes of ``runs``' series."""
    require_matplotlib()
    import matplotlib as mpl

    with mpl.rc_context({"svg.hashsalt": "gitexp", "svg.fonttype": "none"}):
        figure = _draw(runs)
        buffer = io.BytesIO()
        metadata = {"Date": None} if fmt == "svg" else {"Software": "gitexp"}
        figure.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight", metadata=metadata)
    return buffer.getvalue()


def _draw(runs: Sequence[RunLike]) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    keys = series_keys(runs)
    labels = legend_labels(runs)
    columns = 1 if len(keys) < 3 else 2
    rows = math.ceil(len(keys) / columns)
    legend_rows = math.ceil(len(runs) / (columns * 2))
    figure = Figure(figsize=(6.4 * columns, 3.2 * rows + 0.3 * legend_rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for number, key in enumerate(keys):
        ax = axes[number // columns][number % columns]
        whole = True
        for index, run in enumerate(runs):
            curve = run.series.get(key)
            if curve is None:
                continue
            whole = whole and all(float(s).is_integer() for s in curve.steps)
            marker = "o" if len(curve.steps) <= 30 else None
            ax.plot(
                list(curve.steps),
                list(curve.values),
                color=colour(index),
                label=labels[run.name],
                marker=marker,
                markersize=3,
                linewidth=1.6,
            )
        ax.set_title(key, loc="left", fontsize=11)
        ax.set_xlabel("step")
        ax.grid(True, color="#eaeef2")
        ax.spines[["top", "right"]].set_visible(False)
        if whole:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for extra in range(len(keys), rows * columns):
        axes[extra // columns][extra % columns].set_visible(False)
    handles, names = _legend_entries(list(axes.flat))
    figure.legend(
        handles,
        names,
        loc="outside lower center",
        ncol=max(1, min(columns * 2, len(names))),
        frameon=False,
        fontsize=9,
    )
    return figure


def _legend_entries(axes: list[Axes]) -> tuple[list[Artist], list[str]]:
    seen: dict[str, Artist] = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(name, handle)
    return list(seen.values()), list(seen)
