"""The local object store: write-once files named by the BLAKE3 hash of their bytes.

Layout: ``<cache>/blake3/<first 2 hex>/<other 62 hex>`` (the same on every remote).
Big objects are written to a temporary file under ``<cache>/tmp/``, hashed in the
same pass as they are copied, made read-only and renamed into place; small ones are
written to an unnamed file (``O_TMPFILE``, else a temporary name) in their bucket
folder and linked in. A crash or a kill never leaves a partial object under an
object's name. Storing what is already there leaves it as it is (only its mtime is
refreshed, so ``gc`` keeps it). Nothing here calls fsync: a killed process loses
nothing, and an object that a power cut truncates is caught by its hash
(``checkout`` and ``fsck`` verify).

An object may also be compacted (``gc --compact``): kept as a chunk list and shared
chunks instead of a whole file (`gitexp.cache.chunkstore`). `has` counts it as
present; `restore` makes it whole again, verified, before anything reads the file.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitexp.cache.chunkstore import LISTS_DIR, reassemble
from gitexp.cache.statindex import StatIndex
from gitexp.cache.writes import BUFFER as BUFFER
from gitexp.cache.writes import TMP_DIR as TMP_DIR
from gitexp.cache.writes import TMP_PREFIX as TMP_PREFIX
from gitexp.cache.writes import Writes, check_unchanged, read_all
from gitexp.core.hashing import ALGORITHM, Oid, hash_bytes, oid_from_relpath
from gitexp.errors import IntegrityError, NotFoundError

CORRUPT_DIR = "corrupt"
PARALLEL_WRITES = 64
"""Fewer new objects than this are written by one thread."""


class ObjectStore:
    """A cache folder of content-addressed objects.

    With a `StatIndex`, every object this store writes (and so hashed) is recorded as
    verified there, so later reads need not hash it again. Built by
    `gitexp.project.Project.store`, which knows where the cache and its index live.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        index: StatIndex | None = None,
        index_folder: Path | None = None,
    ) -> None:
        self.root = Path(root)
        self.index = index
        self.index_folder = index_folder
        """Where the stat index lives, for work that opens its own (no ``index`` given)."""
        self._writes = Writes(self.root, index, self.touch)
        self._compacted = False

    @property
    def _tmpfiles(self) -> bool:
        """Whether small objects are written to unnamed files (``O_TMPFILE``)."""
        return self._writes.tmpfiles

    @_tmpfiles.setter
    def _tmpfiles(self, value: bool) -> None:
        self._writes.tmpfiles = value

    def path(self, oid: Oid) -> Path:
        """Where ``oid`` lives (whether or not it is there)."""
        return self.root / oid.relpath

    def has(self, oid: Oid) -> bool:
        """Whether the object is in the cache, whole or compacted (its bytes are not checked)."""
        return self.has_whole(oid) or self.is_compacted(oid)

    def has_whole(self, oid: Oid) -> bool:
        """Whether the object is in the cache as a whole file, ready to link or read."""
        try:
            return os.stat(self.path(oid)).st_size >= 0
        except (FileNotFoundError, NotADirectoryError):
            return False

    def is_compacted(self, oid: Oid) -> bool:
        """Whether the object has a chunk list (see `gitexp.cache.chunkstore`)."""
        if not self.compaction_seen():
            return False
        try:
            return os.stat(self.root / LISTS_DIR / oid.hex[:2] / oid.hex[2:]).st_size >= 0
        except (FileNotFoundError, NotADirectoryError):
            return False

    def compaction_seen(self) -> bool:
        """Whether this cache has ever held a compacted object (a ``stat`` until it has)."""
        if not self._compacted:
            self._compacted = os.path.isdir(self.root / LISTS_DIR)
        return self._compacted

    def restore(self, oid: Oid) -> bool:
        """Make sure the object is whole in the cache; whether it is now.

        A compacted object is reassembled from its chunks, verified against its id
        and renamed into place (recorded as verified in the stat index); a kill
        meanwhile leaves only a temporary file. False when the object is neither
        whole nor compacted. Raises `IntegrityError` when its chunks are damaged.
        """
        if self.has_whole(oid):
            return True
        if not self.compaction_seen():
            return False
        tmp = reassemble(self.root, oid, self.root / TMP_DIR)
        if tmp is None:
            return self.has_whole(oid)  # dropped meanwhile by gc, or made whole by another
        self.adopt_verified(tmp, oid)
        return True

    def restore_many(self, oids: Iterable[Oid]) -> list[Oid]:
        """`restore` those of ``oids`` that are compacted and not whole; the ones restored.

        Costs one ``stat`` in all until the cache has held a compacted object, then
        one or two per oid.
        """
        if not self.compaction_seen():
            return []
        done = []
        for oid in oids:
            if not self.has_whole(oid) and self.is_compacted(oid) and self.restore(oid):
                done.append(oid)
        return done

    def is_linked(self, path: str | os.PathLike[str], oid: Oid) -> bool:
        """Whether ``path`` is a symbolic link to ``oid``'s object (``symlink`` link type)."""
        try:
            return os.readlink(path) == str(self.path(oid))
        except OSError:
            return False

    def put_bytes(self, data: bytes) -> Oid:
        """Store ``data``; idempotent (see `_write_all`)."""
        oid = hash_bytes(data)
        if not self.touch(oid):
            self._writes.write_all([(oid, data)])
        return oid

    def put_file(
        self, src: str | os.PathLike[str], expect: os.stat_result | None = None
    ) -> tuple[Oid, int]:
        """Store a file's bytes, hashing while copying (read once); returns oid and size.

        Memory stays at one buffer whatever the file's size. Raises `FileNotFoundError`
        if the file goes away, `ConflictError` if it changes while it is read or no
        longer has the size and mtime of ``expect``; then nothing is left in the cache.
        """
        small = self.read_small(src, expect)
        if small is not None:
            return self.put_bytes(small), len(small)
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            before = os.fstat(fd)
            if expect is not None:
                check_unchanged(src, expect, before, before.st_size)
            return self._writes.put_stream(fd, src, before)
        finally:
            os.close(fd)

    def read_small(
        self, src: str | os.PathLike[str], expect: os.stat_result | None = None
    ) -> bytes | None:
        """A file's bytes if it has at most `BUFFER` of them (None for a bigger one).

        Raises like `put_file` when the file is gone or changes while it is read.
        """
        if expect is not None and expect.st_size > BUFFER:
            return None
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            # with ``expect`` (the stat data a listing saw), one fstat after the read
            # shows whether the file changed since it was listed or while it was read
            before = expect or os.fstat(fd)
            if before.st_size > BUFFER:
                return None
            data = read_all(fd, before.st_size)
            check_unchanged(src, before, os.fstat(fd), len(data))
            return data
        finally:
            os.close(fd)

    def put_many(self, blobs: list[bytes], jobs: int = 1) -> list[Oid]:
        """Store many small byte strings (`put_bytes` for each); their oids, in order.

        New objects are written by up to ``jobs`` threads, each owning its own share
        of the bucket folders, so no two threads create files in one folder: creating
        many small files is the cost here, and it spreads over the cores that way.
        """
        oids = [hash_bytes(b) for b in blobs]
        new = dict(zip(oids, blobs, strict=True))
        if not self._tmpfiles:
            new = {oid: data for oid, data in new.items() if not self.touch(oid)}
        if jobs <= 1 or len(new) < PARALLEL_WRITES:
            self._writes.write_all(list(new.items()))
            return oids
        from concurrent.futures import ThreadPoolExecutor

        shares: list[list[tuple[Oid, bytes]]] = [[] for _ in range(jobs)]
        for oid, data in new.items():
            shares[int(oid.hex[:2], 16) % jobs].append((oid, data))
        with ThreadPoolExecutor(jobs) as pool:
            for _ in pool.map(self._writes.write_all, shares):
                pass
        return oids

    def put_verified(self, oid: Oid, data: bytes) -> None:
        """Store ``data``, which the caller has hashed and found to be ``oid``.

        `put_bytes` without hashing again (a pull hashes each download before it
        decides to keep it), in as few system calls as it takes. The object is recorded
        as verified in the stat index, so checking it out does not hash it either.
        Storing an object that is there replaces it with the same bytes.
        """
        self._writes.put_verified(oid, data)

    def adopt_verified(self, tmp: str | os.PathLike[str], oid: Oid) -> None:
        """Move the temporary file ``tmp``, hashed by the caller and found to be ``oid``, in.

        ``tmp`` must be on the cache's filesystem (its ``tmp/`` folder); it is made
        read-only first, and recorded as verified like `put_verified`.
        """
        self._writes.adopt_verified(tmp, oid)

    def read_bytes(self, oid: Oid) -> bytes:
        """The object's bytes, checked against its hash (`IntegrityError` if they differ).

        Not hashed again when the stat index knows it intact with this stat data.
        """
        try:
            with open(self.path(oid), "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError as exc:
            if self.is_compacted(oid) and self.restore(oid):
                return self.read_bytes(oid)
            raise NotFoundError(
                f"object {oid} is not in the cache", hint="run `gitexp pull` to fetch it"
            ) from exc
        if self.index is not None and self.index.verified_objects([oid.hex]).get(oid.hex) == (
            info.st_ino,
            info.st_size,
            info.st_mtime_ns,
        ):
            return data
        if hash_bytes(data) != oid:
            raise corrupt_error(oid)
        if self.index is not None:
            self.index.record_object(oid.hex, info)
        return data

    def oids(self) -> Iterator[Oid]:
        """Every object in the cache, bucket by bucket (stray files are skipped)."""
        base = self.root / ALGORITHM
        try:
            with os.scandir(base) as found:
                buckets = sorted(e.name for e in found if e.is_dir(follow_symlinks=False))
        except FileNotFoundError:
            return
        for bucket in buckets:
            try:
                with os.scandir(base / bucket) as found:
                    names = [e.name for e in found]
            except FileNotFoundError:
                continue
            for name in names:
                oid = oid_from_relpath(f"{ALGORITHM}/{bucket}/{name}")
                if oid is not None:
                    yield oid

    def remove(self, oid: Oid) -> None:
        """Delete an object (a no-op when it is not there)."""
        self.remove_many([oid])

    def remove_many(self, oids: Iterable[Oid]) -> None:
        """Delete objects (those not there are skipped); the stat index is told once."""
        root = f"{self.root}/"
        gone = []
        for oid in oids:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(root + oid.relpath)
            gone.append(oid.hex)
        if self.index is not None and gone:
            self.index.forget_objects(gone)

    def move_aside(self, oid: Oid) -> Path:
        """Move a corrupt object out of the store into ``<cache>/corrupt/``; its new path."""
        folder = self.root / CORRUPT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{oid.hex}.{int(time.time())}"
        os.replace(self.path(oid), target)
        if self.index is not None:
            self.index.forget_objects([oid.hex])
        return target

    def stale_tmp_files(self, older_than: float) -> list[Path]:
        """Temporary files left by killed processes, last written before ``older_than``."""
        folders = [self.root / TMP_DIR]
        with contextlib.suppress(FileNotFoundError), os.scandir(self.root / ALGORITHM) as found:
            folders += [Path(e.path) for e in found if e.is_dir(follow_symlinks=False)]
        stale = []
        for folder in folders:
            try:
                with os.scandir(folder) as found:
                    entries = [e for e in found if e.name.startswith(TMP_PREFIX)]
            except FileNotFoundError:
                continue
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime < older_than:
                        stale.append(Path(entry.path))
        return stale

    def touch(self, oid: Oid) -> bool:
        """Whether the object exists; if so its mtime is refreshed so gc keeps it."""
        try:
            os.utime(self.path(oid))
        except (FileNotFoundError, NotADirectoryError):
            return False
        except PermissionError:
            return self.has(oid)
        return True


def corrupt_error(oid: Oid, where: str = "") -> IntegrityError:
    """The error for an object whose bytes do not hash to its name."""
    return IntegrityError(
        f"cache object {oid} is corrupt (its bytes hash differently){where}",
        hint="run `gitexp fsck` to move it aside, then `gitexp pull` to fetch it again",
    )
