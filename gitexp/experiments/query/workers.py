"""A fresh clone's summaries read on every core: the commits shared among forked processes.

A first ``show`` at ten thousand experiments spends most of its time in Python reading
the commits' objects from `StreamReader`'s git streams, one after the other, while the
second core waits. Here the commits are cut in parts: each part but the last is read
by a process forked from this one (its imports done already, so it starts in a
millisecond), the last by this process, all at once, each part with git processes of
its own. A forked reader sends back its entries framed as the summary index frames
them (`index.records`): their JSON is made in the reader, and taking them in is
slicing.

A part whose reader failed (an object that is not a commit, a git that failed, a
killed process) is read again by the caller, so its error is raised where it always
was. Only a process with one thread forks (a lock another thread held would stay held
in the copy), and only where ``fork`` exists; else everything is read here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence

from gitexp.experiments.query.index import Entry, entry_of, read_records, records
from gitexp.git.repo import GitRepo

PER_PART = 2000
"""Fewer commits than this a part are not worth a process of their own."""

Read = Callable[[GitRepo, list[str]], dict[str, dict[str, object]]]
"""How a part is read: the summaries of some commits, by id (`select._read`)."""


def read_entries(
    git: GitRepo,
    commits: Sequence[str],
    read: Read,
    *,
    parts: int | None = None,
    per_part: int = PER_PART,
) -> dict[str, Entry]:
    """The entry of each of ``commits`` that is an experiment commit, read on every core.

    ``parts``: how many readers at most (default: one per core the process may use),
    each with ``per_part`` commits at least. Raises what ``read`` raises for the
    commits a forked reader could not read.
    """
    ids = list(commits)
    count = min(parts or _cores(), len(ids) // max(per_part, 1))
    if count < 2 or not hasattr(os, "fork") or threading.active_count() != 1:
        return {c: entry_of(s) for c, s in read(git, ids).items()}
    cut = [ids[len(ids) * i // count : len(ids) * (i + 1) // count] for i in range(count)]
    forked = [_fork(git, part, read) for part in cut[:-1]]
    found = {c: entry_of(s) for c, s in read(git, cut[-1]).items()}
    for part, child in zip(cut, forked, strict=False):
        got = _collect(child)
        if got is None:  # that reader failed: read its part here, raising what it raises
            got = {c: entry_of(s) for c, s in read(git, part).items()}
        found.update(got)
    return found


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_Child = tuple[int, int] | None
"""A forked reader: its process id and the read end of its pipe; None if none started."""


def _fork(git: GitRepo, part: list[str], read: Read) -> _Child:
    """Start a process that reads ``part`` and writes its records to a pipe."""
    try:
        rfd, wfd = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        return None
    if pid:
        os.close(wfd)
        return pid, rfd
    code = 1
    try:  # the reader: it only reads and writes to its pipe, then ends without cleanup
        os.close(rfd)
        data = records({c: entry_of(s) for c, s in read(git, part).items()})
        with os.fdopen(wfd, "wb") as pipe:
            pipe.write(data)
        code = 0
    finally:
        os._exit(code)


def _collect(child: _Child) -> dict[str, Entry] | None:
    """The entries a forked reader sent; None when it did not finish its part."""
    if child is None:
        return None
    pid, rfd = child
    with os.fdopen(rfd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
        return None
    entries: dict[str, Entry] = {}
    return entries if read_records(data, 0, entries) else None
