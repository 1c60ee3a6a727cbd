"""Where a picture goes: the output path is checked before any work, written atomically.

A missing folder is an error (gitexp does not guess where a file should go); the file
appears whole or not at all, so a failed or interrupted command leaves nothing behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitexp.cache.atomic import atomic_write
from gitexp.core.results import JsonResult
from gitexp.errors import PathError, UsageError

FORMATS = {".html": "html", ".htm": "html", ".svg": "svg", ".png": "png"}


def output_format(path: str | os.PathLike[str], allowed: tuple[str, ...]) -> str:
    """The format ``path`` asks for (``html``, ``svg``, ``png``), checked.

    Raises `UsageError` for another extension and `PathError` when the folder does not
    exist or the path is a folder.
    """
    target = Path(path)
    fmt = FORMATS.get(target.suffix.lower())
    if fmt not in allowed:
        names = ", ".join(f"*{s}" for s, f in FORMATS.items() if f in allowed and s != ".htm")
        raise UsageError(
            f"cannot tell what to write for '{target.name}'", hint=f"name the output file {names}"
        )
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise PathError(
            f"cannot write '{path}': the folder '{folder}' does not exist",
            hint="create the folder first, or write somewhere else",
        )
    if target.is_dir():
        raise PathError(f"cannot write '{path}': it is a folder", hint="name a file")
    return str(fmt)


def write_output(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (temporary file, then rename)."""
    target = Path(path)
    try:
        atomic_write(target, data)
    except OSError as exc:
        raise PathError(
            f"cannot write '{path}': {exc.strerror or exc}", hint="check the path and permissions"
        ) from exc


@dataclass(frozen=True, slots=True)
class PlotsResult(JsonResult):
    """What ``gitexp plots`` wrote: where, in which format, how big, and what it drew.

    ``without_series``: experiments that have none of the series asked for.
    """

    output: str
    format: str
    bytes: int
    experiments: tuple[str, ...]
    series: tuple[str, ...]
    without_series: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "output": self.output,
            "format": self.format,
            "bytes": self.bytes,
            "experiments": list(self.experiments),
            "series": list(self.series),
            "without_series": list(self.without_series),
        }


@dataclass(frozen=True, slots=True)
class ReportResult(JsonResult):
    """What ``gitexp report`` wrote: where, how big, how many experiments it shows."""

    output: str
    bytes: int
    experiments: int

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {"output": self.output, "bytes": self.bytes, "experiments": self.experiments}
