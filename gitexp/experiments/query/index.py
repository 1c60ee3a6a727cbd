"""The summary index: each experiment commit's ``show`` fields, kept between commands.

A commit never changes, so an entry keyed by commit id never goes stale; the index is
a cache, rebuilt from the commits when it is missing or unreadable. Each entry holds
the fields already written as JSON twice: as ``show --json`` prints them inside an
experiment's object (`Entry.shown`, so that printing ten thousand experiments parses
and builds nothing) and as one compact object (`Entry.compact`, parsed all at once
for the table and the other readers). Its start time (``created``) is kept apart, the
key of ``show``'s default order.

The file is a version line, then one record per entry, framed as ``git cat-file
--batch`` frames objects: a line ``<commit> <shown size> <compact size> <created>``,
the two JSON texts, a newline. Reading it is slicing, no parsing; recording an
experiment appends one record. A record cut short (a torn append) ends the reading:
the commits after it are read again. Entries of commits no ref names any more are
dropped when they grow to a quarter of the file.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import NamedTuple

import orjson

VERSION = 2
FILE_NAME = "experiments-v2.idx"
HEADER = b"gitexp summary index 2\n"
"""The file's first line: an index of no entry is this alone."""
_INDENT = orjson.OPT_INDENT_2
_ROW_DEPTH = b"\n    "
"""What a line of the fields gains to sit inside an experiment of ``show --json``."""


class Entry(NamedTuple):
    """One commit's ``show`` fields, as JSON ready to print and to parse."""

    created: str
    shown: bytes
    """The fields as ``show --json`` prints them in an experiment's object: its lines
    from ``"commit"`` to the end of ``"data"``, indented, without braces or a last
    newline."""
    source: bytes | Mapping[str, object]
    """The fields as one compact JSON object, or as read from the commit (dumped
    when first needed: a first ``show --json`` prints before it writes the index),
    or empty: made from ``shown`` when needed (a forked reader sent only that)."""

    @property
    def compact(self) -> bytes:
        """The fields as one JSON object (compact, unless made from ``shown``)."""
        source = self.source
        if isinstance(source, bytes):
            return source or b"{" + self.shown + b"}"
        return orjson.dumps(source)


def entry_of(summary: Mapping[str, object]) -> Entry:
    """The entry of a summary (`summary.Reader.summary`'s fields, in their order)."""
    text = orjson.dumps(summary, option=_INDENT)
    return Entry(str(summary.get("created") or ""), shown(text), summary)


def shown(indented: bytes) -> bytes:
    """The lines inside a JSON object dumped with a 2-space indent, as a row holds them.

    JSON text never holds a raw newline inside a string, so each newline starts a line.
    """
    return b"    " + indented[2:-2].replace(b"\n", _ROW_DEPTH)


class SummaryIndex:
    """Entries by commit id (``entries``), loaded from and saved to ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self._new: list[str] = []
        self._whole = False
        with contextlib.suppress(FileNotFoundError, OSError):
            self._whole = self._load(path.read_bytes())

    def _load(self, data: bytes) -> bool:
        """Read the records of ``data``; whether all were whole (else it is rewritten)."""
        return data.startswith(HEADER) and read_records(data, len(HEADER), self.entries)

    def add(self, commit: str, entry: Entry, *, saved: bool = False) -> None:
        """Remember ``entry`` for ``commit`` until `save` (``saved``: in the file already)."""
        if commit not in self.entries and not saved:
            self._new.append(commit)
        self.entries[commit] = entry

    def add_all(self, entries: Mapping[str, Entry], saved: AbstractSet[str]) -> None:
        """`add` each of ``entries``, those in ``saved`` as in the file already."""
        if entries.keys() == saved:
            self.entries.update(entries)  # the common case, ten thousand at once
            return
        for commit, entry in entries.items():
            self.add(commit, entry, saved=commit in saved)

    def appendable(self, live: Iterable[str]) -> Path | None:
        """The file, if `save` with ``live`` would only append to it; else None.

        Others (`workers`) may then append new entries to it themselves: a missing
        file is made here, with its header, so that they only add records.
        """
        plan = self._plan(live)
        if plan is not None and plan[0]:  # a rewrite
            return None
        if not self._whole:
            try:
                _append(self.path, {})
            except OSError:
                return None
            self._whole = True
        return self.path

    def pending(self, live: Iterable[str] | None = None) -> bool:
        """Whether `save` with ``live`` would write anything."""
        return self._plan(live) is not None

    def _plan(self, live: Iterable[str] | None) -> tuple[bool, dict[str, Entry]] | None:
        """What `save` writes: whether it rewrites the file, and the entries; or None."""
        if live is not None:
            live_set = set(live)
            dead = sum(1 for c in self.entries if c not in live_set)
            if dead * 4 > max(len(self.entries), 16):
                return True, {c: e for c, e in self.entries.items() if c in live_set}
        if not self._whole and (self._new or self.entries):
            return True, self.entries
        if self._new:
            return False, {c: self.entries[c] for c in self._new}
        return None

    def save(self, live: Iterable[str] | None = None) -> None:
        """Append what is new; rewrite the file when it is damaged or ``live`` shows many dead.

        Failures to write are ignored: the index is only a cache.
        """
        plan = self._plan(live)
        if plan is not None:
            rewrite, entries = plan
            with contextlib.suppress(OSError):
                (_replace if rewrite else _append)(self.path, entries)
        self._whole = True
        self._new = []


def in_background(work: Callable[[], None]) -> bool:
    """Run ``work`` in a process of its own that nobody waits for; whether it could.

    A command that has its answer out keeps its cache this way without making its
    caller (or a shell pipeline, whose reader sees the end of the output) wait, as
    ``git gc --auto`` does. The process forks twice, so that nothing is left to reap,
    starts a session of its own (a Ctrl-C to the terminal does not cut it short), and
    reads and writes /dev/null, not the command's output. Only a process with one
    thread forks: a lock another thread held would stay held in the copy. Failures in
    ``work`` are ignored, as they are for any write of a cache.
    """
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return False
    try:
        middle = os.fork()
    except OSError:
        return False
    if middle:
        os.waitpid(middle, 0)
        return True
    try:  # the middle process, then the one that works
        if os.fork() == 0:
            os.setsid()
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            work()
    finally:
        os._exit(0)


def read_records(data: bytes, at: int, entries: dict[str, Entry]) -> bool:
    """Put the records of ``data`` from ``at`` on into ``entries``; whether all were whole.

    A record cut short or damaged ends the reading: those before it are kept.
    """
    end = len(data)
    find = data.find
    while at < end:
        eol = find(b"\n", at)
        head = data[at:eol].split(b" ", 3)
        if eol < 0 or len(head) != 4 or not (head[1].isdigit() and head[2].isdigit()):
            return False
        middle = eol + 1 + int(head[1])
        stop = middle + int(head[2])
        if stop >= end or data[stop] != 10:  # 10: b"\n", the record's last byte
            return False
        fields = data[eol + 1 : middle]
        entries[head[0].decode()] = Entry(head[3].decode(), fields, data[middle:stop])
        at = stop + 1
    return True


def records(entries: Mapping[str, Entry], *, compact: bool = True) -> bytes:
    """The records of ``entries`` as the index file holds them, after its header line.

    Without ``compact``, each record's compact fields are left empty (see `Entry.source`).
    """
    return b"".join(
        _record(commit.encode(), e.created.encode(), e.shown, e.compact if compact else b"")
        for commit, e in entries.items()
    )


def _record(commit: bytes, created: bytes, shown: bytes, compact: bytes) -> bytes:
    return b"%s %d %d %s\n%s%s\n" % (commit, len(shown), len(compact), created, shown, compact)


def _replace(path: Path, entries: Mapping[str, Entry]) -> None:
    """Write the whole index anew: a temporary file renamed over it.

    Two commands doing so at once each rename a whole file of their own; the last
    one stays. No fsync: a file damaged by a crash fails its framing and is rebuilt.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(HEADER + records(entries))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def append(path: Path, summaries: list[dict[str, object]]) -> None:
    """Add summaries (each holding its ``commit``) to the index file without reading it.

    Raises `OSError` when the file cannot be written.
    """
    _append(path, {str(s["commit"]): entry_of(s) for s in summaries})


def _append(path: Path, entries: Mapping[str, Entry]) -> None:
    append_records(path, records(entries))


def append_records(path: Path, body: bytes) -> None:
    """One ``write`` call of ``records`` at the end of the file, a header first if it is new.

    Raises `OSError` when the file cannot be written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size == 0:
            body = HEADER + body
        os.write(fd, body)
    finally:
        os.close(fd)
