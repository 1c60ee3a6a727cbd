"""The recorded page data, made again only for the experiments that changed.

`gitexp.report.page.report_data` makes every row from its experiment; the UI makes the
page data again on each change (a new run, a removed one), and at 10,000 experiments
making 10,000 rows is most of that. `RowCache` keeps each row under what it was made
from (name, commit, status, tags, note, code files, images; params and metrics follow
from the commit) while the columns stay the same, and makes only the others. The page
data is the same as `report_data` gives (the UI's tests compare them); the rankings
(`best`, `pick`) are worked out on all rows each time, as they depend on all of them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping

from gitexp.core.goals import Direction
from gitexp.report.best import default_selection, ranking_data
from gitexp.report.data import ExperimentLike, OverviewLike
from gitexp.report.page import VERSION, _value, page_row, report_data

Data = dict[str, object]


class RowCache:
    """Report rows kept by what they were made from; see the module docstring."""

    def __init__(self) -> None:
        self._columns: tuple[tuple[str, ...], ...] | None = None
        self._rows: dict[Hashable, dict[str, object]] = {}

    def page_data(
        self,
        overview: OverviewLike,
        *,
        title: str,
        generated: str,
        goals: Mapping[str, Direction] | None = None,
    ) -> Data:
        """What ``report_data(overview, ...)`` gives, unchanged rows taken as kept."""
        runs = list(overview.experiments)
        if any(run.series for run in runs):  # thinned together: not kept apart
            return report_data(overview, title=title, generated=generated, goals=goals)
        params = _columns(run.params for run in runs)
        metrics = _columns(run.metrics for run in runs)
        paths = _columns(run.files for run in runs)
        columns = (tuple(params), tuple(metrics), tuple(paths))
        if columns != self._columns:
            self._columns, self._rows = columns, {}
        kept, rows = self._rows, []
        made: dict[Hashable, dict[str, object]] = {}
        for run in runs:
            key = _key(run)
            row = kept.get(key) or made.get(key) or _row(run, params, metrics, paths)
            made[key] = row
            rows.append(row)
        self._rows = made  # removed experiments' rows go
        scores = [row["m"] for row in rows]
        statuses = [run.status for run in runs]
        return {
            "version": VERSION,
            "title": title,
            "generated": generated,
            "branches": [],
            "params": params,
            "metrics": metrics,
            **ranking_data(metrics, scores, statuses, goals or {}),  # type: ignore[arg-type]
            "pick": default_selection(
                metrics,
                scores,  # type: ignore[arg-type]
                statuses,
                goals or {},
                [run.baseline for run in runs],
                [run.changed for run in runs],
            ),
            "keys": [],
            "paths": paths,
            "blobs": list(overview.blobs),
            "images": list(overview.images),
            "rows": rows,
        }


def _key(run: ExperimentLike) -> Hashable:
    images = tuple((key, tuple(frames)) for key, frames in run.images.items())
    return (
        run.name,
        run.commit,
        run.status,
        run.created,
        run.branch,
        tuple(run.tags),
        run.note,
        tuple(run.files.items()),
        images,
    )


def _row(
    run: ExperimentLike, params: list[str], metrics: list[str], paths: list[str]
) -> dict[str, object]:
    """The row `report_data` makes of ``run`` (without series)."""
    values = [_value(run.metrics.get(c)) for c in metrics]
    return page_row(run, params, values, paths, {})


def _columns(maps: Iterable[Mapping[str, object]]) -> list[str]:
    seen: dict[str, None] = {}
    for mapping in maps:
        seen.update(dict.fromkeys(mapping))
    return list(seen)
