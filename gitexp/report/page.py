"""``gitexp report``: one self-contained HTML page about many experiments.

The page holds plotly.js, its own small script and style, and one JSON blob with the
data (format below); the script renders the table, the parallel-coordinates chart,
the series of the selected experiments and the diff of two of them from that blob,
so thousands of experiments stay one fast file. Series are thinned to a point budget
(evenly, keeping the first and last point) and numbers rounded to 6 significant
digits, which keeps a 5,000-experiment report well under 20 MB.

Data blob, version 3 (version 1 had no ``goals`` nor ``best``; 2 no ``pick``, tags,
notes nor images)::

    {"version": 3, "title", "generated", "branches": [...],
     "params": [column label…], "metrics": [column label…],
     "goals": [{"dir": "max"|"min", "by": "gitexp.yaml"|"name"} | null per metrics column],
     "best": [[row index…] per metrics column: the successful rows with its best value],
     "pick": [row index…]: the rows selected when the page opens (see `default_selection`),
     "keys": [series key…],
     "paths": [code path…], "blobs": [text | null…],
     "images": [data: URI | null (not embedded)…],
     "rows": [{"n": name, "s": status, "t": created, "b": branch, "c": commit,
               "base": baseline, "p": [value per params column, null when absent],
               "m": [value per metrics column], "f": [blob index per path, -1 absent],
               "x": {key index: [[steps…], [values…]]},
               "tg": [tag…], "nt": note, "im": {image key: [[step, image index]…]}}…]}
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence

import orjson

from gitexp.core.goals import Direction
from gitexp.core.runinfo import iso_utc, utc_now
from gitexp.report import html
from gitexp.report.best import default_selection, ranking_data
from gitexp.report.data import CurveLike, ExperimentLike, OverviewLike
from gitexp.report.output import ReportResult, write_output

VERSION = 3
POINT_BUDGET = 400_000
"""The most series points one report embeds, shared out evenly among its series."""
MIN_POINTS, MAX_POINTS = 60, 2_000


def write_report(
    overview: OverviewLike,
    output: str | os.PathLike[str],
    count: int,
    title: str,
    branches: Sequence[str] = (),
    goals: Mapping[str, Direction] | None = None,
    models: Sequence[Mapping[str, object]] = (),
) -> ReportResult:
    """Write the report of ``overview`` (``count`` experiments) to ``output``, atomically."""
    generated = iso_utc(utc_now())
    data = render_report(
        overview, title=title, generated=generated, branches=branches, goals=goals, models=models
    )
    write_output(output, data)
    return ReportResult(output=str(output), bytes=len(data), experiments=count)


def render_report(
    overview: OverviewLike,
    *,
    title: str,
    generated: str,
    branches: Sequence[str] = (),
    goals: Mapping[str, Direction] | None = None,
    models: Sequence[Mapping[str, object]] = (),
) -> bytes:
    """The bytes of the report page; ``goals`` is ``goals:`` of gitexp.yaml.

    ``models`` are the registered models as ``model list --json`` gives them: a small
    table of their versions and aliases, written into the page as it is.
    """
    data = report_data(overview, title=title, generated=generated, branches=branches, goals=goals)
    page = html.fill(
        html.asset("report.html"),
        {
            "TITLE": html.escape(title),
            "STYLE": html.asset("report.css"),
            "MODELS": models_section(models),
            "DATA": html.json_script(data),
            "SCRIPT": html.asset("report.js"),
            "PLOTLY": html.plotly_js(),
        },
    )
    return page.encode()


def page_row(
    run: ExperimentLike,
    params: Sequence[str],
    values: list[object],
    paths: Sequence[str],
    series: dict[str, object],
) -> dict[str, object]:
    """One experiment's row of the page data, given its metrics' values and thinned series."""
    get = run.params.get
    return {
        "n": run.name,
        "s": run.status,
        "t": run.created,
        "b": run.branch,
        "c": run.commit,
        "base": run.baseline,
        "p": [_value(get(c)) for c in params],
        "m": values,
        "f": [run.files.get(path, -1) for path in paths],
        "x": series,
        "tg": list(run.tags),
        "nt": run.note,
        "im": {key: [[step, at] for step, at in frames] for key, frames in run.images.items()},
    }


def report_data(
    overview: OverviewLike,
    *,
    title: str,
    generated: str,
    branches: Sequence[str] = (),
    goals: Mapping[str, Direction] | None = None,
) -> dict[str, object]:
    """The JSON blob the page renders (see the module docstring).

    Each metrics column's goal follows ``goals`` (gitexp.yaml), else the metric's name;
    ``best`` is computed on the values as embedded, as the page computes it.
    """
    runs = overview.experiments
    params = _columns(run.params for run in runs)
    metrics = _columns(run.metrics for run in runs)
    keys = _columns(run.series for run in runs)
    paths = _columns(run.files for run in runs)
    total = sum(len(run.series) for run in runs)
    limit = max(MIN_POINTS, min(MAX_POINTS, POINT_BUDGET // total)) if total else MAX_POINTS
    key_index = {key: number for number, key in enumerate(keys)}
    scores = [[_value(run.metrics.get(c)) for c in metrics] for run in runs]
    statuses = [run.status for run in runs]
    rows = [
        page_row(
            run,
            params,
            values,
            paths,
            {str(key_index[k]): _thin(curve, limit) for k, curve in run.series.items()},
        )
        for run, values in zip(runs, scores, strict=True)
    ]
    return {
        "version": VERSION,
        "title": title,
        "generated": generated,
        "branches": list(branches),
        "params": params,
        "metrics": metrics,
        **ranking_data(metrics, scores, statuses, goals or {}),
        "pick": default_selection(
            metrics,
            scores,
            statuses,
            goals or {},
            [run.baseline for run in runs],
            [run.changed for run in runs],
        ),
        "keys": keys,
        "paths": paths,
        "blobs": list(overview.blobs),
        "images": list(overview.images),
        "rows": rows,
    }


def models_section(models: Sequence[Mapping[str, object]]) -> str:
    """The registered models as an HTML section (empty without any), newest version first."""
    if not models:
        return ""
    rows = []
    for model in models:
        aliases = model.get("aliases") or {}
        versions = model.get("versions") or []
        assert isinstance(aliases, Mapping) and isinstance(versions, list)  # noqa: S101
        for version in reversed(versions):
            named = sorted(a for a, n in aliases.items() if n == version.get("version"))
            cells = [
                model.get("name"),
                f"v{version.get('version')}",
                ", ".join(named),
                version.get("experiment"),
                version.get("path"),
                version.get("size"),
                str(version.get("commit") or "")[:8],
            ]
            rows.append(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>"
            )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("model", "version", "aliases", "experiment", "path", "bytes", "commit")
    )
    return (
        '<section class="panel" id="models-panel">\n'
        '  <div class="panel-head"><h2>Registered models</h2></div>\n'
        '  <div class="table-wrap"><table id="models"><thead><tr>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>\n"
        "</section>"
    )


def _columns(maps: Iterable[Mapping[str, object]]) -> list[str]:
    seen: dict[str, None] = {}
    for mapping in maps:
        seen.update(dict.fromkeys(mapping))
    return list(seen)


def _value(value: object) -> object:
    kind = type(value)
    if kind is str or kind is int or value is None:  # the most common, first
        return value
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return orjson.dumps(value, default=str).decode()


def _round(value: float) -> float | int | None:
    if not math.isfinite(value):
        return None
    rounded = float(f"{value:.6g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def _thin(curve: CurveLike, limit: int) -> list[list[float | int | None]]:
    """At most ``limit`` points, evenly spaced, the first and the last kept."""
    steps, values = curve.steps, curve.values
    count = len(steps)
    if count > limit:
        picks = sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})
    else:
        picks = list(range(count))
    return [[_round(float(steps[i])) for i in picks], [_round(float(values[i])) for i in picks]]
