"""Metrics files and step series: reading, checking, and what the API writes.

A metrics file is a mapping (JSON, YAML or TOML). A series is a table of rows with a
step column and one or more value columns (TSV, CSV or JSON lines); the series the API
logs are TSV with the columns ``step`` and ``value``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import orjson

from gitexp.core.formats import flatten, load_mapping
from gitexp.errors import FormatError

SERIES_HEADER = b"step\tvalue\n"


def load_metrics(data: bytes, path: str) -> dict[str, object]:
    """A metrics file's values, flattened to dotted keys.

    Raises `FormatError` naming ``path`` when it is not a valid mapping.
    """
    return flatten(load_mapping(data, path))


@dataclass(frozen=True, slots=True)
class Series:
    """One series file: the steps and, per value column, its numbers."""

    path: str
    steps: list[float]
    columns: dict[str, list[float]] = field(default_factory=dict)


def series_format(path: str) -> str | None:
    """``tsv``, ``csv`` or ``jsonl`` for a series file, None for other files."""
    lower = path.lower()
    for ext, fmt in ((".tsv", "tsv"), (".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl")):
        if lower.endswith(ext):
            return fmt
    return None


def parse_series(data: bytes, path: str) -> Series:
    """Parse a series file into steps and value columns.

    The step column is ``step`` (or ``epoch``, ``iteration``, ``iter``) when present,
    else the row number.

    Raises `FormatError` naming ``path`` for a file with no rows, no numeric column,
    or a value that is not a number.
    """
    fmt = series_format(path)
    if fmt is None:
        raise FormatError(f"'{path}' is not a series file", hint="use .tsv, .csv or .jsonl")
    rows = _jsonl_rows(data, path) if fmt == "jsonl" else _table_rows(data, path, fmt)
    if not rows:
        raise FormatError(f"series '{path}' has no rows", hint="log at least one value")
    names = list(rows[0].keys())
    step_key = next((n for n in ("step", "epoch", "iteration", "iter") if n in names), None)
    columns: dict[str, list[float]] = {n: [] for n in names if n != step_key}
    steps: list[float] = []
    for number, row in enumerate(rows):
        steps.append(_number(row.get(step_key), path, number) if step_key else float(number))
        for name in columns:
            columns[name].append(_number(row.get(name), path, number, name))
    if not columns:
        raise FormatError(f"series '{path}' has no value column besides '{step_key}'")
    return Series(path, steps, columns)


def _table_rows(data: bytes, path: str, fmt: str) -> list[dict[str, object]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"series '{path}' is not UTF-8 text") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    rows: list[dict[str, object]] = []
    try:
        for row in reader:
            if None in row:
                raise FormatError(f"series '{path}' has a row with more cells than its header")
            rows.append(dict(row))
    except csv.Error as exc:
        raise FormatError(f"series '{path}' is not valid {fmt.upper()}: {exc}") from exc
    return rows


def _jsonl_rows(data: bytes, path: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"series '{path}' line {number} is not JSON: {exc}") from exc
        if not isinstance(row, dict):
            raise FormatError(f"series '{path}' line {number} is not a JSON object")
        rows.append(row)
    return rows


def _number(value: object, path: str, row: int, column: str = "step") -> float:
    if isinstance(value, bool):
        raise FormatError(f"series '{path}' row {row + 1}: '{column}' is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise FormatError(
        f"series '{path}' row {row + 1}: '{column}' is {value!r}, not a number",
        hint="series files hold numbers only",
    )


def series_row(step: int | float, value: float) -> bytes:
    """One TSV row of a logged series."""
    return f"{_fmt(step)}\t{_fmt(value)}\n".encode()


def _fmt(number: float) -> str:
    return str(number) if isinstance(number, int) else repr(float(number))


def series_key_path(key: str) -> str:
    """The path (under ``.gitexp/series/``) of the series logged for ``key``.

    Each ``/`` in the key names a folder (``val/acc`` is ``val/acc.tsv``), so readers
    give the series back by its key as logged. Other characters outside ``[A-Za-z0-9._-]``
    become ``_``, and so does a part that would be empty, ``.`` or ``..``: the path
    never leaves the series folder.
    """
    parts = []
    for part in key.split("/"):
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in part)
        parts.append("_" if safe in ("", ".", "..") else safe)
    return "/".join(parts) + ".tsv"


def check_metric_value(key: str, value: object) -> float | int | str | bool | None:
    """A value ``log_metric`` accepts, as a plain Python value.

    Numbers (numpy and other subclasses become plain ``int``/``float``), bool, str.
    """
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    item = getattr(value, "item", None)
    if callable(item):
        scalar = item()
        if isinstance(scalar, (bool, int, float)):
            return scalar
    raise FormatError(f"metric '{key}' must be a number or a string, not {type(value).__name__}")
