"""A fresh clone's summaries read on every core: the commits shared among forked readers.

A first ``show`` at ten thousand experiments spends most of its time in Python reading
the commits' objects from `StreamReader`'s git streams, one after the other, while the
second core waits. Here the commits are cut in parts, one per core, each read by a
process forked from this one (its imports done already, so it starts in a
millisecond) with git processes of its own. A reader sends the entries back framed as
the summary index frames them (`index.records`), so taking them in is slicing, and
then, given the index file, appends them to it itself: this process never holds the
commits' parsed fields, has no index to write once its answer is out, and ends as
soon as it has printed.

Each reader is the grandchild of this process, its parent gone at once, so nothing is
left to reap whoever calls this (a notebook, a test). A reader says it is done by a
last line; a part without it (an object that is not a commit, a git that failed, a
killed reader) is read again here, so its error is raised where it always was. Only a
process with one thread forks (a lock another thread held would stay held in the
copy), and only where ``fork`` exists; else everything is read here.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

from gitexp.experiments.query.index import Entry, append_records, entry_of, read_records, records
from gitexp.git.repo import GitRepo

PER_PART = 2000
"""Fewer commits than this a part are not worth a process of their own."""
_DONE = b"done\n"
"""A reader's last line: no record ends so (its JSON ends with a brace)."""

Read = Callable[[GitRepo, list[str]], dict[str, dict[str, object]]]
"""How a part is read: the summaries of some commits, by id (`select.read_summaries`)."""


class Found(NamedTuple):
    """The entries read, and which of them a reader already appended to the index."""

    entries: dict[str, Entry]
    saved: frozenset[str]


def read_entries(
    git: GitRepo,
    commits: Sequence[str],
    read: Read,
    *,
    index_file: Path | None = None,
    parts: int | None = None,
    per_part: int = PER_PART,
) -> Found:
    """The entry of each of ``commits`` that is an experiment commit, read on every core.

    ``index_file``: the summary index the readers append their entries to (the caller
    made sure it has its header and that appending is what saving it would do).
    ``parts``: how many readers at most (default: one per core the process may use),
    each with ``per_part`` commits at least. Raises what ``read`` raises for the
    commits a reader could not read.
    """
    ids = list(commits)
    count = min(parts or _cores(), len(ids) // max(per_part, 1))
    if count < 2 or not hasattr(os, "fork") or threading.active_count() != 1:
        return Found({c: entry_of(s) for c, s in read(git, ids).items()}, frozenset())
    cut = [ids[len(ids) * i // count : len(ids) * (i + 1) // count] for i in range(count)]
    pipes = [_start(git, part, read, index_file) for part in cut]
    entries: dict[str, Entry] = {}
    saved: set[str] = set()
    for part, pipe in zip(cut, pipes, strict=True):
        got = _collect(pipe)
        if got is None:  # that reader failed: read its part here, raising what it raises
            entries.update((c, entry_of(s)) for c, s in read(git, part).items())
            continue
        entries.update(got)
        if index_file is not None:
            saved.update(got)
    return Found(entries, frozenset(saved))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start(git: GitRepo, part: list[str], read: Read, index_file: Path | None) -> int | None:
    """Fork a reader of ``part``; the read end of its pipe, or None if none started."""
    try:
        rfd, wfd = os.pipe()
    except OSError:
        return None
    try:
        middle = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        return None
    if middle:
        os.close(wfd)
        os.waitpid(middle, 0)
        return rfd
    try:  # the middle process forks the reader and ends, so nobody need reap the reader
        os.close(rfd)
        if os.fork() == 0:
            _reader(git, part, read, index_file, wfd)
    finally:
        os._exit(0)


def _reader(git: GitRepo, part: list[str], read: Read, index_file: Path | None, wfd: int) -> None:
    """Read ``part``, send the entries (their fields as printed), then append them to the index.

    Without an index to append to, the compact fields are sent too (the caller keeps
    them); else the caller makes them from the printed ones if it needs them.
    """
    entries = {c: entry_of(s) for c, s in read(git, part).items()}
    with os.fdopen(wfd, "wb") as pipe:
        pipe.write(records(entries, compact=index_file is None) + _DONE)
    if index_file is not None:
        _yield_cores()  # the caller's answer first: the index is only a cache
        append_records(index_file, records(entries))


def _yield_cores() -> None:
    """Run only when no other process wants a core, where the system can say so."""
    if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))


def _collect(rfd: int | None) -> dict[str, Entry] | None:
    """The entries a reader sent; None when it did not finish its part."""
    if rfd is None:
        return None
    with os.fdopen(rfd, "rb") as pipe:
        data = pipe.read()
    if not data.endswith(_DONE):
        return None
    entries: dict[str, Entry] = {}
    return entries if read_records(data[: -len(_DONE)], 0, entries) else None
