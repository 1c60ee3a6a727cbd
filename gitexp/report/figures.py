"""Chart specs for step series: one chart per series key, one line per experiment.

The specs are plain Plotly figure dicts (``data`` and ``layout``), built without the
plotly Python package so they stay cheap; plotly.js draws them in the page. Every
experiment keeps one colour across charts.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitexp.report.data import RunLike
from gitexp.report.labels import legend_labels

PALETTE = (
    "#4269d0",
    "#efb118",
    "#ff725c",
    "#6cc5b0",
    "#3ca951",
    "#ff8ab7",
    "#a463f2",
    "#97bbf5",
    "#9c6b4e",
    "#9498a0",
)
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


def series_keys(runs: Sequence[RunLike]) -> list[str]:
    """Every series key of ``runs``, in the order first seen."""
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(run.series))
    return list(keys)


def colour(number: int) -> str:
    """The colour of the ``number``-th experiment."""
    return PALETTE[number % len(PALETTE)]


def series_figures(runs: Sequence[RunLike]) -> list[dict[str, object]]:
    """One figure per series key, each experiment that has it a line with its label."""
    labels = legend_labels(runs)
    figures: list[dict[str, object]] = []
    for key in series_keys(runs):
        traces: list[dict[str, object]] = [
            {
                "type": "scatter",
                "mode": "lines+markers" if len(run.series[key].steps) <= 30 else "lines",
                "name": labels[run.name],
                "legendgroup": run.name,
                "x": list(run.series[key].steps),
                "y": list(run.series[key].values),
                "line": {"color": colour(number), "width": 2},
                "marker": {"size": 5},
                "hovertemplate": f"{run.name}<br>step %{{x}}<br>{key} %{{y:.6g}}<extra></extra>",
            }
            for number, run in enumerate(runs)
            if key in run.series
        ]
        steps = [s for run in runs if key in run.series for s in run.series[key].steps]
        few_whole = all(float(s).is_integer() for s in steps) and max(steps) - min(steps) <= 12
        layout = chart_layout(key, few_whole, len(traces))
        figures.append({"key": key, "data": traces, "layout": layout})
    return figures


PLOT_HEIGHT = 320
"""The height of a chart's plot area, whatever its legend needs."""
LEGEND_ROW = 24


def chart_layout(key: str, whole_steps: bool = False, lines: int = 1) -> dict[str, object]:
    """The layout shared by series charts; ``whole_steps`` ticks every step (few, integer).

    The legend sits at the bottom of the chart, below the x axis and its title (its
    place is measured from the chart's bottom edge, so it never covers the axis), and
    the chart grows by a legend row for every few ``lines``, so the plot area keeps
    its height however many experiments are drawn.
    """
    xaxis: dict[str, object] = {
        "title": {"text": "step"},
        "gridcolor": "#eaeef2",
        "zeroline": False,
    }
    if whole_steps:
        xaxis["dtick"] = 1
    return {
        "title": {"text": key, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "font": {"family": FONT, "size": 12, "color": "#24292f"},
        "xaxis": xaxis,
        "yaxis": {"gridcolor": "#eaeef2", "zeroline": False},
        "legend": {
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": 0,
            "yanchor": "bottom",
            "yref": "container",
        },
        "margin": {"l": 60, "r": 20, "t": 40, "b": 20},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hovermode": "closest",
        "height": PLOT_HEIGHT + 40 + 60 + LEGEND_ROW * -(-lines // 2),
    }
