"""Reading workspace data: listing a folder's files and knowing their hashes.

A file whose stat data matches the stat index is not read; any other file is hashed
(and, for ``add``, stored in the same pass) and recorded in the index. Symbolic links,
special files and ``.git`` or ``.gitexp`` entries inside a data folder are not data:
they are listed as skipped (a manifest may not name them, see `gitexp.core.manifest`).
"""

from __future__ import annotations

import os
import re
import stat
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitexp.cache.objects import BUFFER, ObjectStore
from gitexp.cache.statindex import StatIndex
from gitexp.core.hashing import Hasher, Oid, hash_bytes
from gitexp.core.manifest import Entry, dump_manifest
from gitexp.errors import ConflictError

OnFile = Callable[[str], None]
"""Called with a file's path (relative to the data folder) once it is hashed or stored."""

PARALLEL_MIN = 64
"""Below this many files to read, threads cost more than they save."""
PARALLEL_MIN_SIZE = 256 * 1024
BATCH_BYTES = 64 << 20
"""Small files held in memory at most, between reading them and storing them."""
"""Files smaller than this on average are read one after another."""


@dataclass(frozen=True, slots=True)
class WorkspaceFile:
    """A regular file found in a data folder: path inside it, full path, stat data."""

    rel: str
    full: str
    info: os.stat_result

    @property
    def executable(self) -> bool:
        """Whether the owner may execute it (the manifest's ``exec``)."""
        return bool(self.info.st_mode & stat.S_IXUSR)


@dataclass
class Listing:
    """A data folder's regular files (sorted by path) and what was not data in it.

    ``temporary`` holds gitexp's own temporary files (of a checkout that was killed,
    or is running), which are never data.
    """

    files: list[WorkspaceFile] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    temporary: list[str] = field(default_factory=list)


TMP_MARK = ".gitexp-tmp-"
_TMP_NAME = re.compile(r"\..*\.gitexp-tmp-(\d+)-[0-9a-f]+(-\d+)?")


def tmp_name(full: str) -> str:
    """A temporary sibling of ``full``: hidden, and naming this process."""
    folder, name = os.path.split(full)
    return os.path.join(folder, f".{name}{TMP_MARK}{os.getpid()}-{os.urandom(4).hex()}")


def stale_tmp(name: str) -> bool:
    """Whether ``name`` is a temporary file of a gitexp process that is gone."""
    match = _TMP_NAME.fullmatch(name)
    if match is None:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    return False


def list_folder(folder: str | os.PathLike[str]) -> Listing:
    """Every regular file under ``folder`` at any depth; links are never followed."""
    listing = Listing()
    _walk(os.fspath(folder), "", listing)
    listing.files.sort(key=lambda f: f.rel)
    return listing


def _is_own_folder(name: str) -> bool:
    """``.git`` (a repository inside the data) or ``.gitexp``, folder or file: never data."""
    return name.rstrip(". ").casefold() in (".git", ".gitexp")


def _walk(full: str, rel: str, listing: Listing) -> None:
    with os.scandir(full) as entries:
        items = list(entries)
    for entry in items:
        path = f"{rel}{entry.name}"
        if TMP_MARK in entry.name and _TMP_NAME.fullmatch(entry.name):
            listing.temporary.append(path)
            continue
        if _is_own_folder(entry.name):
            listing.skipped.append(path)
            continue
        if entry.is_dir(follow_symlinks=False):
            _walk(entry.path, path + "/", listing)
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISREG(info.st_mode):
            listing.files.append(WorkspaceFile(path, entry.path, info))
        else:
            listing.skipped.append(path)


def hash_file(
    full: str | os.PathLike[str], expect: os.stat_result | None = None
) -> tuple[Oid, int]:
    """A file's oid and size, streamed (memory stays at one buffer).

    Raises `ConflictError` when the file changes while it is read, or no longer has
    the size and mtime of ``expect``.
    """
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        before = expect or os.fstat(fd)
        hasher = Hasher()
        buffer = bytearray(min(BUFFER, max(before.st_size + 1, 1)))
        view = memoryview(buffer)
        while count := os.readv(fd, [buffer]):
            hasher.update(view[:count])
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if after.st_size != hasher.size or after.st_mtime_ns != before.st_mtime_ns:
        raise ConflictError(
            f"'{os.fsdecode(full)}' changed while gitexp was reading it",
            hint="wait until whatever writes it has finished, then run the command again",
        )
    return hasher.oid, hasher.size


class Hashes:
    """Hashes of workspace files through the stat index; optionally storing them."""

    def __init__(
        self, index: StatIndex, store: ObjectStore | None = None, jobs: int | None = None
    ) -> None:
        self.index = index
        self.store = store
        self.jobs = jobs or min(4, (os.cpu_count() or 1) + 1)

    def unchanged_manifest(self, folder: str) -> Oid | None:
        """The manifest oid of ``folder`` if no file changed since it was recorded.

        Nothing is read but the stat index and the folder's stat data (no object is
        built per file): None unless the index covers exactly the folder's files with
        the same stat data and executable bits.
        """
        known, manifest = self.index.folder(folder)
        if manifest is None or not _matches(folder, known):
            return None
        return Oid(manifest)

    def entries(
        self, folder: str, files: list[WorkspaceFile], on_file: OnFile | None = None
    ) -> list[Entry]:
        """Manifest entries for ``files`` of ``folder`` (absolute), in the same order.

        The folder's rows in the stat index are read once and written back once.
        """
        known, manifest = self.index.folder(folder)
        oids: list[Oid | None] = []
        todo: list[int] = []
        for number, item in enumerate(files):
            row = known.get(item.rel)
            if row is not None and _same(row, item):
                oids.append(Oid(row[3]))
            else:
                oids.append(None)
                todo.append(number)
        self._ensure_stored(files, oids, todo, on_file)
        self._read(files, oids, todo, on_file)
        entries = [
            Entry(f.rel, oid, f.info.st_size, f.executable)
            for f, oid in zip(files, oids, strict=True)
            if oid is not None
        ]
        if todo or manifest is None or len(known) != len(files):
            rows = {
                f.rel: [f.info.st_ino, f.info.st_size, f.info.st_mtime_ns, e.oid.hex, e.exec]
                for f, e in zip(files, entries, strict=True)
            }
            self.index.record_folder(folder, rows, hash_bytes(dump_manifest(entries)).hex)
        return entries

    def one(self, full: str, info: os.stat_result) -> Oid:
        """The oid of one file (stored too when this has a store)."""
        known = self.index.known_hash(full, info)
        if known is not None and (self.store is None or self.store.touch(Oid(known))):
            return Oid(known)
        return self._hash(WorkspaceFile(os.path.basename(full), full, info), single=True)

    def _ensure_stored(
        self,
        files: list[WorkspaceFile],
        oids: list[Oid | None],
        todo: list[int],
        on_file: OnFile | None,
    ) -> None:
        """Files known by the index whose object is gone from the cache are read again."""
        if self.store is None:
            return
        for number, oid in enumerate(oids):
            if oid is None:
                continue
            if not self.store.touch(oid):
                oids[number] = None
                todo.append(number)
            elif on_file is not None:
                on_file(files[number].rel)
        todo.sort()

    def _read(
        self,
        files: list[WorkspaceFile],
        oids: list[Oid | None],
        todo: list[int],
        on_file: OnFile | None,
    ) -> None:
        told = threading.Lock()

        def work(numbers: list[int]) -> None:
            for number in numbers:
                oids[number] = self._hash(files[number])
                if on_file is not None:
                    with told:  # the callback is called from one thread at a time
                        on_file(files[number].rel)

        if self.store is not None and not self._parallel([files[n] for n in todo]):
            self._store_small(files, oids, todo, on_file)
            return
        if not self._parallel([files[n] for n in todo]):
            work(todo)
            return
        from concurrent.futures import ThreadPoolExecutor

        size = max(16, len(todo) // (self.jobs * 8))
        batches = [todo[start : start + size] for start in range(0, len(todo), size)]
        with ThreadPoolExecutor(self.jobs) as pool:
            for _ in pool.map(work, batches):
                pass

    def _store_small(
        self,
        files: list[WorkspaceFile],
        oids: list[Oid | None],
        todo: list[int],
        on_file: OnFile | None,
    ) -> None:
        """Read files one after another, then store them a batch at a time.

        Reading is cheap and in path order; creating the objects is what costs, and
        `ObjectStore.put_many` spreads that over the cores. Memory stays under
        `BATCH_BYTES` (bigger files are streamed as they come).
        """
        assert self.store is not None  # noqa: S101 - the caller checked
        batch: list[tuple[int, bytes]] = []
        held = 0
        for number in todo:
            item = files[number]
            data = self.store.read_small(item.full, item.info)
            if data is None:
                oids[number] = self._hash(item)
            else:
                batch.append((number, data))
                held += len(data)
            if on_file is not None:
                on_file(item.rel)
            if held >= BATCH_BYTES:
                self._flush(batch, oids)
                batch, held = [], 0
        self._flush(batch, oids)

    def _flush(self, batch: list[tuple[int, bytes]], oids: list[Oid | None]) -> None:
        assert self.store is not None  # noqa: S101 - only called with a store
        writers = min(self.jobs, os.cpu_count() or 1)
        stored = self.store.put_many([data for _n, data in batch], writers)
        for (number, _data), oid in zip(batch, stored, strict=True):
            oids[number] = oid

    def _parallel(self, todo: list[WorkspaceFile]) -> bool:
        """Whether to read with threads: worth it for big files (hashing).

        For many small files the cost is in creating files, where threads only add lock
        traffic (measured).
        """
        if self.jobs <= 1 or len(todo) < PARALLEL_MIN:
            return False
        return sum(f.info.st_size for f in todo) >= len(todo) * PARALLEL_MIN_SIZE

    def _hash(self, item: WorkspaceFile, *, single: bool = False) -> Oid:
        if self.store is not None:
            oid, _size = self.store.put_file(item.full, item.info)
        else:
            oid, _size = hash_file(item.full, item.info)
        if single:
            self.index.record_file(item.full, item.info, oid.hex)
        return oid


def _matches(folder: str, known: dict[str, list[Any]]) -> bool:
    """Whether the files under ``folder`` are exactly those of ``known``, unchanged."""
    count = 0
    stack = [(folder, "")]
    while stack:
        full, rel = stack.pop()
        with os.scandir(full) as entries:
            for entry in entries:
                if _is_own_folder(entry.name):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append((entry.path, f"{rel}{entry.name}/"))
                    continue
                row = known.get(rel + entry.name)
                if row is None:
                    return False
                info = entry.stat(follow_symlinks=False)
                if (
                    info.st_mtime_ns != row[2]
                    or info.st_size != row[1]
                    or info.st_ino != row[0]
                    or bool(info.st_mode & stat.S_IXUSR) != row[4]
                    or not stat.S_ISREG(info.st_mode)
                ):
                    return False
                count += 1
    return count == len(known)


def _same(row: list[object], item: WorkspaceFile) -> bool:
    info = item.info
    return (
        row[2] == info.st_mtime_ns
        and row[1] == info.st_size
        and row[0] == info.st_ino
        and row[4] == item.executable
    )


def total_size(entries: Iterable[Entry]) -> int:
    """The sum of the entries' sizes (a directory pointer's ``size``)."""
    return sum(e.size for e in entries)


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both already resolved)."""
    return path == root or root in path.parents
