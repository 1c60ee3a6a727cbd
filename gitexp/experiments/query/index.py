"""The summary index: each experiment commit's ``show`` fields, kept between commands.

A commit never changes, so an entry keyed by commit id never goes stale; the index is
a cache, rebuilt from the commits when it is missing or unreadable. It is a JSON-lines
file (a version line, then one summary a line) so that recording an experiment
appends one line instead of rewriting the file; entries of commits no ref names any
more are dropped when they grow to a quarter of the file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write

VERSION = 1
FILE_NAME = "experiments-v1.jsonl"
_HEADER = orjson.dumps({"version": VERSION}) + b"\n"


def _line(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None


class SummaryIndex:
    """Summaries by commit id (``entries``), loaded from and saved to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, object]] = {}
        self._new: list[str] = []
        with contextlib.suppress(FileNotFoundError, OSError):
            self._load(path.read_bytes())

    def _load(self, data: bytes) -> None:
        if not data.startswith(_HEADER):
            return
        body = data[len(_HEADER) :].rstrip(b"\n")
        try:  # one parse for the whole file; line by line only if a line is torn
            entries = orjson.loads(b"[" + body.replace(b"\n", b",") + b"]") if body else []
        except orjson.JSONDecodeError:
            entries = [_line(line) for line in body.split(b"\n")]
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("commit"), str):
                self.entries[entry["commit"]] = entry

    def add(self, commit: str, summary: dict[str, object]) -> None:
        """Remember ``summary`` (which holds ``commit``) until `save`."""
        if commit not in self.entries:
            self._new.append(commit)
        self.entries[commit] = summary

    def save(self, live: Iterable[str] | None = None) -> None:
        """Append what is new; rewrite without dead entries when ``live`` shows many.

        Failures to write are ignored: the index is only a cache.
        """
        live_set = set(live) if live is not None else None
        dead = 0 if live_set is None else sum(1 for c in self.entries if c not in live_set)
        with contextlib.suppress(OSError):
            if live_set is not None and dead * 4 > max(len(self.entries), 16):
                keep = [e for c, e in self.entries.items() if c in live_set]
                atomic_write(self.path, _HEADER + b"".join(orjson.dumps(e) + b"\n" for e in keep))
            elif self._new:
                append(self.path, [self.entries[c] for c in self._new])
        self._new = []


def append(path: Path, entries: list[dict[str, object]]) -> None:
    """Add summaries to the index file without reading it (one ``write`` call).

    Raises `OSError` when the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    body = b"".join(orjson.dumps(e) + b"\n" for e in entries)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size == 0:
            body = _HEADER + body
        os.write(fd, body)
    finally:
        os.close(fd)
