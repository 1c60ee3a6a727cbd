"""The stat index: what a file held the last time gitexp read it (format version 2).

A row maps a workspace file's absolute path to ``(inode, size, mtime_ns, hash)``; when
a file still has that inode, size and mtime it is not read again. The files of a data
folder are kept as one record per folder, so a folder of thousands of files is looked
up in one read. A second table
records cache objects whose bytes gitexp hashed itself (written by ``add``, or checked
once), so ``checkout`` copies them without hashing them again; for a manifest whose
objects were all checked, their rows are kept together too (format version 3), read
in one go by the checkout of a folder of thousands of files.

It is a cache, never the truth: rows that cannot be trusted are left out, and the
file (SQLite, in ``<state>/index/``) is rebuilt when it is deleted, corrupt or of
another version. Racy entries (git's "racy clean" problem) are never written: a file
whose mtime is not strictly older than the moment this index was opened could still
change within the same timestamp tick after it was read, so it is hashed again next
time instead.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

VERSION = 3
FILE_NAME = f"stat-v{VERSION}.sqlite"
_OLD_FILES = [
    f"stat-v{v}.sqlite{extra}" for v in range(1, VERSION) for extra in ("", "-wal", "-shm")
]
_BATCH = 500
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, ino INTEGER, size INTEGER,"
    " mtime INTEGER, hash TEXT) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS objects (hash TEXT PRIMARY KEY, ino INTEGER, size INTEGER,"
    " mtime INTEGER) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS folders (path TEXT PRIMARY KEY, manifest TEXT, data BLOB)"
    " WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS manifests (hash TEXT PRIMARY KEY, objects BLOB) WITHOUT ROWID",
)
FolderRows = dict[str, list[Any]]
"""A data folder's files: path inside it → ``[inode, size, mtime_ns, hex, executable]``."""


class Stamp(NamedTuple):
    """The stat fields that say a file has not changed (equal to the plain tuple)."""

    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, info: os.stat_result) -> Stamp:
        """The stamp of a stat result."""
        return cls(info.st_ino, info.st_size, info.st_mtime_ns)


class StatIndex:
    """Known hashes of workspace files and verified cache objects, by stat data.

    Reads are batched (one query per folder or per few hundred paths); writes are
    buffered and committed by `flush` in one transaction.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE_NAME
        folder.mkdir(parents=True, exist_ok=True)
        self.now_ns = _filesystem_now(folder)
        if not self.path.exists():
            for old in _OLD_FILES:
                with contextlib.suppress(FileNotFoundError):
                    (folder / old).unlink()
        self._db = _connect(self.path)
        self._files: dict[str, tuple[Stamp, str]] = {}
        self._objects: dict[str, Stamp] = {}
        self._folders: dict[str, tuple[FolderRows, str | None]] = {}
        self._manifests: dict[str, dict[str, tuple[int, int, int]]] = {}

    def close(self) -> None:
        """Write what is buffered and close the database."""
        self.flush()
        self._db.close()

    def __enter__(self) -> StatIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def folder(self, path: str) -> tuple[FolderRows, str | None]:
        """A data folder's rows (absolute path), read as one record, and a manifest hex.

        The hex is that of the manifest the rows make when they cover every file of the
        folder, else None.
        """
        rows = self._query("SELECT data, manifest FROM folders WHERE path = ?", (path,))
        if not rows:
            return {}, None
        try:
            found = orjson.loads(rows[0][0])
        except orjson.JSONDecodeError:
            return {}, None
        if not isinstance(found, dict):
            return {}, None
        return found, rows[0][1]

    def record_folder(
        self, path: str, rows: FolderRows, manifest: str, before_ns: int | None = None
    ) -> None:
        """Replace a data folder's rows; racy rows are dropped.

        A row is racy unless its mtime is older than ``before_ns``: by default the
        filesystem's clock when this index was opened; a checkout passes the clock of
        the moment before the files it wrote became visible. When a row is dropped the
        manifest is not recorded: the rows no longer cover the whole folder.
        """
        bound = self.now_ns if before_ns is None else before_ns
        kept = {rel: row for rel, row in rows.items() if row[2] < bound}
        self._folders[path] = (kept, manifest if len(kept) == len(rows) else None)

    def files(self, paths: Iterable[str]) -> dict[str, tuple[Stamp, str]]:
        """The rows for ``paths`` (absolute) that exist: path → (stamp, hex)."""
        found: dict[str, tuple[Stamp, str]] = {}
        for batch in _batches(list(paths)):
            marks = ",".join("?" * len(batch))
            sql = f"SELECT path, ino, size, mtime, hash FROM files WHERE path IN ({marks})"  # noqa: S608 - only placeholders are formatted in
            for r in self._query(sql, batch):
                found[r[0]] = (Stamp(r[1], r[2], r[3]), r[4])
        return found

    def known_hash(self, path: str, info: os.stat_result) -> str | None:
        """The hex recorded for ``path`` if its stat data still matches, else None."""
        row = self.files([path]).get(path)
        return row[1] if row is not None and row[0] == Stamp.of(info) else None

    def record_file(
        self, path: str, info: os.stat_result, hex_digest: str, before_ns: int | None = None
    ) -> None:
        """Remember that ``path`` with this stat data holds ``hex_digest`` (unless racy).

        ``before_ns`` as for `record_folder`.
        """
        if info.st_mtime_ns < (self.now_ns if before_ns is None else before_ns):
            self._files[path] = (Stamp.of(info), hex_digest)

    def verified_objects(self, hexes: Iterable[str]) -> dict[str, Stamp]:
        """The stamps of those objects whose bytes were checked against their hash."""
        wanted = list(dict.fromkeys(hexes))
        found: dict[str, Stamp] = {}
        for batch in _batches(wanted):
            marks = ",".join("?" * len(batch))
            sql = f"SELECT hash, ino, size, mtime FROM objects WHERE hash IN ({marks})"  # noqa: S608 - only placeholders are formatted in
            for r in self._query(sql, batch):
                found[r[0]] = Stamp(r[1], r[2], r[3])
        found.update({h: self._objects[h] for h in wanted if h in self._objects})
        return found

    def record_object(self, hex_digest: str, info: os.stat_result) -> None:
        """Remember that the cache object with this stat data was hashed and matched."""
        self._objects[hex_digest] = Stamp.of(info)

    def manifest_objects(self, manifest: str) -> dict[str, tuple[int, int, int]]:
        """The stamps of a manifest's objects, all checked (see `record_manifest_objects`).

        Empty when they were not recorded together.
        """
        if manifest in self._manifests:
            return self._manifests[manifest]
        rows = self._query("SELECT objects FROM manifests WHERE hash = ?", (manifest,))
        try:
            flat = orjson.loads(rows[0][0]) if rows else []
            return {h: (ino, size, mtime) for h, ino, size, mtime in flat}
        except (orjson.JSONDecodeError, TypeError, ValueError):
            return {}

    def record_manifest_objects(
        self, manifest: str, stamps: dict[str, tuple[int, int, int]]
    ) -> None:
        """Remember the stamps of every object of a manifest, each checked against its hash.

        A cache of the ``objects`` rows: forgetting any object forgets all of these.
        """
        self._manifests[manifest] = stamps

    def forget_objects(self, hexes: Iterable[str]) -> None:
        """Drop rows of objects that were removed or moved aside."""
        batches = list(_batches(list(hexes)))
        for batch in batches:
            for h in batch:
                self._objects.pop(h, None)
            marks = ",".join("?" * len(batch))
            self._execute(f"DELETE FROM objects WHERE hash IN ({marks})", batch)  # noqa: S608 - only placeholders are formatted in
        if batches:
            self._manifests = {}
            self._execute("DELETE FROM manifests", ())

    def flush(self) -> None:
        """Commit the buffered rows in one transaction."""
        if not (self._files or self._objects or self._folders or self._manifests):
            return
        files = [(p, s.ino, s.size, s.mtime_ns, h) for p, (s, h) in self._files.items()]
        objects = [(h, s.ino, s.size, s.mtime_ns) for h, s in self._objects.items()]
        folders = [(p, m, orjson.dumps(rows)) for p, (rows, m) in self._folders.items()]
        manifests = [
            (m, orjson.dumps([(h, *stamp) for h, stamp in stamps.items()]))
            for m, stamps in self._manifests.items()
        ]
        self._files, self._objects, self._folders, self._manifests = {}, {}, {}, {}
        with contextlib.suppress(sqlite3.Error), self._db:
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?,?,?,?,?)", files)
            self._db.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?,?)", objects)
            self._db.executemany("INSERT OR REPLACE INTO folders VALUES (?,?,?)", folders)
            self._db.executemany("INSERT OR REPLACE INTO manifests VALUES (?,?)", manifests)

    def _query(self, sql: str, args: Iterable[object]) -> list[tuple[Any, ...]]:
        try:
            return list(self._db.execute(sql, tuple(args)))
        except sqlite3.DatabaseError:
            self._db = _rebuild(self._db, self.path)
            return []

    def _execute(self, sql: str, args: Iterable[object]) -> None:
        with contextlib.suppress(sqlite3.Error), self._db:
            self._db.execute(sql, tuple(args))


def _batches(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


def _connect(path: Path, *, again: bool = True) -> sqlite3.Connection:
    """Open (or make) the index; one that is corrupt or of another version is rebuilt."""
    try:
        db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, VERSION) and again:
            return _rebuild(db, path)
        if version != VERSION:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(f"PRAGMA user_version={VERSION}")
        db.execute("PRAGMA synchronous=NORMAL")
        db.isolation_level = "DEFERRED"
        return db
    except sqlite3.DatabaseError:
        if not again:
            raise
        return _rebuild(None, path)


def _rebuild(db: sqlite3.Connection | None, path: Path) -> sqlite3.Connection:
    if db is not None:
        db.close()
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")
    return _connect(path, again=False)


def _filesystem_now(folder: Path) -> int:
    """The filesystem's own clock now (the mtime a file written now gets)."""
    return filesystem_clock(os.fspath(folder / f".now-{os.getpid()}"))


def filesystem_clock(probe: str) -> int:
    """The filesystem's clock, read as the mtime of ``probe``, written and removed."""
    fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"x")
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(probe)
