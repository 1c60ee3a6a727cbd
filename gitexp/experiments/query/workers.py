"""A fresh clone's summaries read on every core: the commits shared among forked readers.

A first ``show`` at ten thousand experiments spends most of its time in Python reading
the commits' objects from `StreamReader`'s git streams, one after the other, while the
second core waits. Here the commits are cut in parts, one per core, each read by a
process forked from this one (its imports done already, so it starts in a
millisecond) with git processes of its own. A reader sends the refs it read and its
entries' fields as JSON text (pickled: taking them in is one call, no parsing, and
only this process's own child ever sends it), and then, given the index file, appends
them to it itself: this process never holds the commits' parsed fields, has no index
to write once its answer is out, and ends as soon as it has printed.

A reader ends once it has sent its entries, its appending left to a process of its
own that nobody waits for (at the lowest priority); the caller takes in what its
readers sent while they end, and reaps them, so nothing is left for whoever calls this
(a notebook, a test). A reader says it is done by a last line; a part without it (an
object that is not a commit, a git that failed, a killed reader) is read again here, so
its error is raised where it always was. Only a process with one thread forks (a lock
another thread held would stay held in the copy), and only where ``fork`` exists; else
everything is read here.
"""

from __future__ import annotations

import contextlib
import os
import pickle  # only between this process and the readers it forked
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import NamedTuple

from gitexp.experiments.query.index import Entry, append_records, entry_of, records
from gitexp.git.reffiles import RefFiles, read_loose
from gitexp.git.repo import GitRepo

PER_PART = 500
"""Fewer commits than this a part are not worth a process of their own."""
_DONE = b"done\n"
"""What a reader writes after its answer: an answer without it is not whole."""

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
    count = _readers(len(ids), parts, per_part)
    if count < 2:
        return Found({c: entry_of(s) for c, s in read(git, ids).items()}, frozenset())
    cut = _cut(ids, count)
    pipes = [_start(partial(_job, git, "", [], part, read, index_file)) for part in cut]
    entries: dict[str, Entry] = {}
    saved: set[str] = set()
    with _reaped(pipes):
        sent = [_collect(pipe) for pipe in pipes]
    for part, got in zip(cut, sent, strict=True):
        if got is None:  # that reader failed: read its part here, raising what it raises
            entries.update((c, entry_of(s)) for c, s in read(git, part).items())
            continue
        entries.update(got[1])
        if index_file is not None:
            saved.update(got[1])
    return Found(entries, frozenset(saved))


def read_refs_and_entries(
    git: GitRepo,
    prefix: str,
    files: RefFiles,
    read: Read,
    *,
    index_file: Path | None = None,
    parts: int | None = None,
    per_part: int = PER_PART,
) -> tuple[dict[str, str], Found] | None:
    """Every ref under ``prefix`` with its commit, in name order, and their entries.

    For a fresh clone, nothing of which is known yet: the readers read the loose refs
    too, each its share of ``files.loose``, besides their commits (those of packed
    refs no loose one overrides are shared out as well). None when this cannot be
    done on several cores, or when any reader failed (a ref not plain, or packed
    meanwhile, or an object not a commit): the caller lists and reads as usual then,
    and meets what failed itself. ``index_file`` and the rest: as `read_entries`.
    """
    started = start_refs_and_entries(
        git, prefix, files, read, index_file=index_file, parts=parts, per_part=per_part
    )
    return started.collect() if started is not None else None


class Started:
    """Readers at work on refs and their entries (`start_refs_and_entries`).

    `collect` takes in what they sent, once, from any thread.
    """

    def __init__(self, packed: dict[str, str], readers: list[_Reader], saved: bool) -> None:
        self._packed = packed
        self._readers = readers
        self._saved = saved
        self._lock = threading.Lock()
        self._got: tuple[dict[str, str], Found] | None = None
        self._done = False

    def collect(self) -> tuple[dict[str, str], Found] | None:
        """What `read_refs_and_entries` gives: the refs in name order and their entries.

        Waits for the readers, and reaps them; a second call gives the same answer.
        """
        with self._lock:
            if not self._done:
                self._got = self._take_in()
                self._done = True
            return self._got

    def _take_in(self) -> tuple[dict[str, str], Found] | None:
        refs = dict(self._packed)
        entries: dict[str, Entry] = {}
        with _reaped(self._readers):
            for reader in self._readers:
                got = _collect(reader)
                if got is None:
                    return None
                refs.update(got[0])
                entries.update(got[1])
        saved = frozenset(entries) if self._saved else frozenset()
        return dict(sorted(refs.items())), Found(entries, saved)


def start_refs_and_entries(
    git: GitRepo,
    prefix: str,
    files: RefFiles,
    read: Read,
    *,
    index_file: Path | None = None,
    parts: int | None = None,
    per_part: int = PER_PART,
) -> Started | None:
    """`read_refs_and_entries`, its readers forked now and taken in by `Started.collect`.

    None when this cannot be done on several cores. Whoever starts them collects them
    (readers not collected wait, their answer unsent, until this process ends).
    """
    loose = set(files.loose)
    packed = {r: c for r, c in files.packed.items() if r[len(prefix) :] not in loose}
    count = _readers(len(files.loose) + len(packed), parts, per_part)
    if count < 2:
        return None
    names, commits = _cut(files.loose, count), _cut(list(dict.fromkeys(packed.values())), count)
    readers = [
        _start(partial(_job, git, prefix, n, c, read, index_file))
        for n, c in zip(names, commits, strict=True)
    ]
    return Started(packed, readers, index_file is not None)


def _readers(commits: int, parts: int | None, per_part: int) -> int:
    """How many readers to fork for ``commits``: below 2, none."""
    if not hasattr(os, "fork") or threading.active_count() != 1:
        return 0
    return min(parts or _cores(), commits // max(per_part, 1))


def _cut(items: Sequence[str], count: int) -> list[list[str]]:
    return [
        list(items[len(items) * i // count : len(items) * (i + 1) // count]) for i in range(count)
    ]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_Reader = tuple[int, int] | None
"""A forked reader: its process id and the read end of its pipe; None if none started."""
Job = Callable[[], tuple[bytes, Callable[[], None] | None]]
"""A reader's work: what it sends, and what it does afterwards (None: nothing)."""


def _job(
    git: GitRepo,
    prefix: str,
    names: list[str],
    commits: list[str],
    read: Read,
    index_file: Path | None,
) -> tuple[bytes, Callable[[], None] | None]:
    """Read the loose refs ``prefix + name`` of ``names``, their commits and ``commits``.

    Gives what to send, and what to do then.

    What is sent is the commit of each ref read, and each entry's fields: its start
    time, its fields as printed, and its compact ones (left empty when there is an
    index to append to: the caller then keeps none); afterwards the entries are
    appended to the index.
    """
    found: dict[str, str] = {}
    if names:
        loose = read_loose(git, prefix, names)
        if loose is None:
            raise LookupError("a ref is not plain")  # the caller asks git instead
        found = loose
    ids = list(dict.fromkeys([*found.values(), *commits]))
    entries = {c: entry_of(s) for c, s in read(git, ids).items()}
    keep = index_file is None
    sent = [(c, (e.created, e.shown, e.compact if keep else b"")) for c, e in entries.items()]
    data = pickle.dumps((found, sent), protocol=pickle.HIGHEST_PROTOCOL)
    if index_file is None:
        return data, None
    return data, lambda: append_records(index_file, records(entries))


def _start(job: Job) -> _Reader:
    """Fork a reader doing ``job``; its process id and the read end of its pipe."""
    try:
        rfd, wfd = os.pipe()
    except OSError:
        return None
    _widen(wfd)
    try:
        pid = os.fork()
    except OSError:
        os.close(rfd)
        os.close(wfd)
        return None
    if pid:
        os.close(wfd)
        return pid, rfd
    try:
        os.close(rfd)
        data, then = job()
        with os.fdopen(wfd, "wb") as pipe:
            pipe.write(data)
            pipe.write(_DONE)
        if then is not None and os.fork() == 0:  # a process of its own, nobody waits for
            os.nice(19)  # the caller's answer first: the index is only a cache
            then()
    finally:
        os._exit(0)


@contextlib.contextmanager
def _reaped(readers: Sequence[_Reader]) -> Iterator[None]:
    """Reap ``readers`` once the block is over, however it ends.

    A reader that has sent all still forks its appender and tears down its memory
    before it ends: its entries are taken in meanwhile, and only then is it waited for
    (a reader whose pipe was never read to its end is told to stop first).
    """
    try:
        yield
    finally:
        for reader in readers:
            if reader is None:
                continue
            pid, rfd = reader
            with contextlib.suppress(OSError):  # closed by `_collect` already
                os.close(rfd)
            os.waitpid(pid, 0)


def _widen(fd: int) -> None:
    """Let a pipe hold a megabyte where the system allows (Linux), not 64 KiB.

    A reader sends megabytes: in 64 KiB turns, each a wake-up of both processes.
    """
    import fcntl

    with contextlib.suppress(AttributeError, OSError):  # elsewhere, or above the limit
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE)


_PIPE = 1 << 20


def _collect(reader: _Reader) -> tuple[dict[str, str], dict[str, Entry]] | None:
    """The refs and entries a reader sent; None when it did not finish its part.

    The reader is reaped by `_reaped`, not here.
    """
    if reader is None:
        return None
    with os.fdopen(os.dup(reader[1]), "rb") as pipe:
        data = pipe.read()
    if not data.endswith(_DONE):
        return None
    try:
        refs, sent = pickle.loads(memoryview(data)[: -len(_DONE)])  # noqa: S301 - our child's
    except (pickle.UnpicklingError, EOFError, ValueError):
        return None
    make = tuple.__new__  # an `Entry` from its fields, without its constructor's call
    return refs, {commit: make(Entry, fields) for commit, fields in sent}
