"""The page data in columns: what the UI's page loads, half the bytes of the rows form.

The report's page data (`gitexp.report.page`) lists one object per experiment, each
repeating its keys, its status word, its branch and its baseline. At 10,000 experiments
that is 2.5 MB for the browser to read before it draws the table. The columns form
holds the same rows as one array per field, words that repeat (statuses, branches) as
numbers into a short list, and fields that are mostly empty (series, tags, notes,
images) only where they are not; the baseline, which the page never shows, is left
out. ``ui-data.js`` turns it back into rows, so the report's script draws it unchanged.

Format (``"cols"`` in place of ``"rows"``, every other key as in the rows form)::

    {"count": N, "n": [name…], "s": [status number…], "sv": [status word…],
     "t": [created…], "b": [branch number | -1…], "bv": [branch…], "c": [commit…],
     "p": [[value per row] per params column], "m": [[value per row] per metrics column],
     "f": [[blob index per row] per path],
     "x": {row: series}, "tg": {row: [tag…]}, "nt": {row: note}, "im": {row: images},
     "lv": {row: 1}: the rows of runs not recorded yet (running, or crashed)}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Data = dict[str, object]
Row = Mapping[str, object]
SPARSE = ("x", "tg", "nt", "im", "lv")
"""Row fields kept only for the rows where they hold something."""


def to_columns(data: Mapping[str, object]) -> Data:
    """``data`` (the rows form) with its rows as columns; nothing else changes."""
    rows = data.get("rows")
    assert isinstance(rows, list)  # noqa: S101 - built by report_data
    out = {key: value for key, value in data.items() if key != "rows"}
    out["cols"] = columns_of(rows, _width(data, "params"), _width(data, "metrics"), _paths(data))
    return out


def columns_of(rows: Sequence[Row], params: int, metrics: int, paths: int) -> Data:
    """The columns of ``rows``, each with ``params``, ``metrics`` and ``paths`` values."""
    statuses: dict[object, int] = {}
    branches: dict[object, int] = {}
    cols: Data = {
        "count": len(rows),
        "n": [row["n"] for row in rows],
        "s": [statuses.setdefault(row["s"], len(statuses)) for row in rows],
        "t": [row.get("t") for row in rows],
        "b": [
            -1 if row.get("b") is None else branches.setdefault(row["b"], len(branches))
            for row in rows
        ],
        "c": [row.get("c") for row in rows],
        "p": _transpose(rows, "p", params),
        "m": _transpose(rows, "m", metrics),
        "f": _transpose(rows, "f", paths, missing=-1),
    }
    cols["sv"], cols["bv"] = list(statuses), list(branches)
    for key in SPARSE:
        cols[key] = {str(at): row[key] for at, row in enumerate(rows) if row.get(key)}
    return cols


def _transpose(
    rows: Sequence[Row], key: str, width: int, missing: object = None
) -> list[list[object]]:
    lines = [row.get(key) for row in rows]
    if rows and all(type(line) is list and len(line) == width for line in lines):
        return [list(column) for column in zip(*lines, strict=True)]  # the usual case, in C
    columns: list[list[object]] = [[] for _ in range(width)]
    for row in rows:
        values = row.get(key)
        values = values if isinstance(values, list) else []
        for number, column in enumerate(columns):
            column.append(values[number] if number < len(values) else missing)
    return columns


def _width(data: Mapping[str, object], key: str) -> int:
    labels = data.get(key)
    return len(labels) if isinstance(labels, list) else 0


def _paths(data: Mapping[str, object]) -> int:
    return _width(data, "paths")
