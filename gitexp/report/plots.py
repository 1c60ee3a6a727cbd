"""``gitexp plots``: the step series of chosen experiments, overlaid, one chart per series.

``.html`` gives an interactive page with plotly.js embedded (zoom, hover, toggle a
line from the legend); ``.svg`` and ``.png`` give a static image drawn by matplotlib.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from gitexp.report import html
from gitexp.report.data import RunLike
from gitexp.report.figures import series_figures
from gitexp.report.output import PlotsResult, output_format, write_output


def plots_format(output: str | os.PathLike[str]) -> str:
    """The format ``output`` asks for, checked with its drawing library before any work."""
    fmt = output_format(output, ("html", "svg", "png"))
    require_drawing(fmt)
    return fmt


def write_plots(
    runs: Sequence[RunLike],
    names: Sequence[str],
    output: str | os.PathLike[str],
    fmt: str,
    title: str,
) -> PlotsResult:
    """Draw ``runs`` to ``output``, atomically; ``names``: every experiment asked about.

    Those of ``names`` not among ``runs`` had none of the series.
    """
    data = render_plots(runs, fmt, title=title)
    write_output(output, data)
    drawn = {run.name for run in runs}
    return PlotsResult(
        output=str(output),
        format=fmt,
        bytes=len(data),
        experiments=tuple(run.name for run in runs),
        series=tuple(dict.fromkeys(k for run in runs for k in run.series)),
        without_series=tuple(n for n in names if n not in drawn),
    )


def render_plots(runs: Sequence[RunLike], fmt: str, *, title: str = "gitexp plots") -> bytes:
    """The bytes of the picture of ``runs``' series in ``fmt`` (html, svg or png)."""
    if fmt == "html":
        return _page(runs, title).encode()
    from gitexp.report.static import render_image

    return render_image(runs, fmt)


def _page(runs: Sequence[RunLike], title: str) -> str:
    figures = series_figures(runs)
    count = len(runs)
    subtitle = (
        f"{len(figures)} series of {count} experiment{'s' if count != 1 else ''}: "
        + ", ".join(run.name for run in runs[:12])
        + (", …" if count > 12 else "")
    )
    return html.fill(
        html.asset("plots.html"),
        {
            "TITLE": html.escape(title),
            "HEADING": html.escape(title),
            "SUBTITLE": html.escape(subtitle),
            "PLOTLY": html.plotly_js(),
            "FIGURES": html.json_script(figures),
        },
    )


def require_drawing(fmt: str) -> None:
    """Raise the error naming the install when the library for ``fmt`` is missing."""
    if fmt != "html":  # plotly.js ships inside gitexp
        from gitexp.report.static import require_matplotlib

        require_matplotlib()
