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
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitexp.cache.statindex import StatIndex
from gitexp.core.hashing import ALGORITHM, Hasher, Oid, hash_bytes, oid_from_relpath
from gitexp.errors import ConflictError, IntegrityError, NotFoundError

TMP_DIR = "tmp"
TMP_PREFIX = ".tmp-"
CORRUPT_DIR = "corrupt"
BUFFER = 4 << 20
"""Bytes read at a time from a big file: the memory a put needs, whatever the size."""
PARALLEL_WRITES = 64
"""Fewer new objects than this are written by one thread."""
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.EXDEV, errno.ENOSYS}


class ObjectStore:
    """A cache folder of content-addressed objects.

    With a `StatIndex`, every object this store writes (and so hashed) is recorded as
    verified there, so later reads need not hash it again.
    """

    def __init__(self, root: str | os.PathLike[str], index: StatIndex | None = None) -> None:
        self.root = Path(root)
        self.index = index
        self._tmp_ready = False
        self._tag = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._counter = itertools.count()
        self._kernel_copy = hasattr(os, "copy_file_range")  # Linux only
        self._tmpfiles = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")

    def path(self, oid: Oid) -> Path:
        """Where ``oid`` lives (whether or not it is there)."""
        return self.root / oid.relpath

    def has(self, oid: Oid) -> bool:
        """Whether the object is in the cache (its bytes are not checked)."""
        try:
            return os.stat(self.path(oid)).st_size >= 0
        except (FileNotFoundError, NotADirectoryError):
            return False

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
            self._write_all([(oid, data)])
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
                _check_unchanged(src, expect, before, before.st_size)
            return self._put_stream(fd, src, before)
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
            data = _read_all(fd, before.st_size)
            _check_unchanged(src, before, os.fstat(fd), len(data))
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
            self._write_all(list(new.items()))
            return oids
        from concurrent.futures import ThreadPoolExecutor

        shares: list[list[tuple[Oid, bytes]]] = [[] for _ in range(jobs)]
        for oid, data in new.items():
            shares[int(oid.hex[:2], 16) % jobs].append((oid, data))
        with ThreadPoolExecutor(jobs) as pool:
            for _ in pool.map(self._write_all, shares):
                pass
        return oids

    def put_verified(self, oid: Oid, data: bytes) -> None:
        """Store ``data``, which the caller has hashed and found to be ``oid``.

        `put_bytes` without hashing again (a pull hashes each download before it
        decides to keep it), in as few system calls as it takes: create a temporary
        file in the object's bucket folder, write, close, rename. The object is
        recorded as verified in the stat index, so checking it out does not hash it
        either. Storing an object that is there replaces it with the same bytes.
        """
        folder = f"{self.root}/{ALGORITHM}/{oid.hex[:2]}"
        while True:
            tmp = f"{folder}/{TMP_PREFIX}{self._tag}-{next(self._counter)}"
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
                break
            except FileExistsError:
                continue
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            info = os.fstat(fd) if self.index is not None else None
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        os.close(fd)
        os.rename(tmp, f"{folder}/{oid.hex[2:]}")
        if info is not None and self.index is not None:
            self.index.record_object(oid.hex, info)

    def adopt_verified(self, tmp: str | os.PathLike[str], oid: Oid) -> None:
        """Move the temporary file ``tmp``, hashed by the caller and found to be ``oid``, in.

        ``tmp`` must be on the cache's filesystem (its ``tmp/`` folder); it is made
        read-only first, and recorded as verified like `put_verified`.
        """
        os.chmod(tmp, 0o444)
        self._install(os.fspath(tmp), oid, os.stat(tmp))

    def _write_all(self, items: list[tuple[Oid, bytes]]) -> None:
        """Store small objects; one that is there already is only touched.

        Where the filesystem has ``O_TMPFILE`` each object is written to an unnamed
        file in its bucket folder and linked in under its name: one change to the
        folder instead of two (create, rename), and no name at all until the bytes
        are written. The link fails on an object that is there, so nothing needs to
        look first. Elsewhere callers skip the objects that `touch` finds.
        """
        for oid, data in items:
            info = self._link_new(oid, data) if self._tmpfiles else self._rename_new(oid, data)
            if info is not None and self.index is not None:
                self.index.record_object(oid.hex, info)

    def _link_new(self, oid: Oid, data: bytes) -> os.stat_result | None:
        """Write ``data`` to an unnamed file and link it in as ``oid``'s object.

        Returns its stat data, or None when the object was there (it is touched).
        Where unnamed files are not to be had it turns `_tmpfiles` off for good and
        writes through a temporary name.
        """
        final = f"{self.root}/{oid.relpath}"
        folder = os.path.dirname(final)
        while True:
            try:
                fd = os.open(folder, os.O_WRONLY | os.O_TMPFILE, 0o444)
                break
            except FileNotFoundError:
                os.makedirs(folder, exist_ok=True)
            except OSError as exc:
                return self._without_tmpfiles(exc, oid, data)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            info = os.fstat(fd)
            # linkat with AT_SYMLINK_FOLLOW: os.link uses it only given a directory fd
            os.link(f"/proc/self/fd/{fd}", final, src_dir_fd=fd, follow_symlinks=True)
        except FileExistsError:
            self.touch(oid)
            return None
        except OSError as exc:
            return self._without_tmpfiles(exc, oid, data)
        finally:
            os.close(fd)
        return info

    def _without_tmpfiles(self, exc: OSError, oid: Oid, data: bytes) -> os.stat_result | None:
        """Store the object through a temporary name where unnamed files fail.

        ``exc`` is re-raised unless it says unnamed files are not to be had here; then
        they are turned off for good.
        """
        if exc.errno not in _NO_TMPFILE:
            raise exc
        self._tmpfiles = False
        return self._rename_new(oid, data, look=True)

    def _rename_new(self, oid: Oid, data: bytes, *, look: bool = False) -> os.stat_result | None:
        """Write ``data`` to a temporary name in its bucket folder and rename it in.

        With ``look``, an object that is there is touched instead (None).
        """
        if look and self.touch(oid):
            return None
        fd, tmp = self._tmpfile(self.path(oid).parent)
        try:
            os.write(fd, data)
            info = os.fstat(fd)
        finally:
            os.close(fd)
        os.rename(tmp, f"{self.root}/{oid.relpath}")
        return info

    def _put_stream(
        self, fd: int, src: str | os.PathLike[str], before: os.stat_result
    ) -> tuple[Oid, int]:
        tmp_fd, tmp = self._tmpfile()
        hasher = Hasher()
        try:
            buffer = bytearray(BUFFER)
            view = memoryview(buffer)
            while count := os.readv(fd, [buffer]):
                hasher.update(view[:count])
                self._copy_range(fd, tmp_fd, view[:count], hasher.size - count)
            _check_unchanged(src, before, os.fstat(fd), hasher.size)
            info = os.fstat(tmp_fd)
        except BaseException:
            os.close(tmp_fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        os.close(tmp_fd)
        oid = hasher.oid
        if self.touch(oid):
            os.unlink(tmp)
        else:
            self._install(tmp, oid, info)
        return oid, hasher.size

    def _copy_range(self, src: int, dst: int, chunk: memoryview, offset: int) -> None:
        """Copy what was just read: in the kernel when it can, else from the buffer."""
        if self._kernel_copy:
            try:
                done = 0
                while done < len(chunk):
                    step = os.copy_file_range(
                        src, dst, len(chunk) - done, offset + done, offset + done
                    )
                    if step == 0:
                        break
                    done += step
                if done == len(chunk):
                    return
                os.lseek(dst, offset, os.SEEK_SET)
            except OSError as exc:
                if exc.errno not in _NO_KERNEL_COPY:
                    raise
                self._kernel_copy = False
        os.pwrite(dst, chunk, offset)

    def read_bytes(self, oid: Oid) -> bytes:
        """The object's bytes, checked against its hash (`IntegrityError` if they differ).

        Not hashed again when the stat index knows it intact with this stat data.
        """
        try:
            with open(self.path(oid), "rb") as handle:
                info = os.fstat(handle.fileno())
                data = handle.read()
        except FileNotFoundError as exc:
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

    def _tmpfile(self, folder: Path | None = None) -> tuple[int, str]:
        """A new read-only temporary file (in ``folder``, default ``tmp/``), open for writing.

        Its name starts with ``.tmp-``, which is never an object's name.
        """
        if folder is None:
            folder = self.root / TMP_DIR
            if not self._tmp_ready:
                folder.mkdir(parents=True, exist_ok=True)
                self._tmp_ready = True
        while True:
            name = str(folder / f"{TMP_PREFIX}{self._tag}-{next(self._counter)}")
            try:
                return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444), name
            except FileExistsError:
                continue
            except FileNotFoundError:
                folder.mkdir(parents=True, exist_ok=True)

    def _install(self, tmp: str, oid: Oid, info: os.stat_result) -> None:
        """Move a finished temporary file to its object path (read-only since creation)."""
        final = self.path(oid)
        try:
            os.rename(tmp, final)
        except FileNotFoundError:
            final.parent.mkdir(parents=True, exist_ok=True)
            os.rename(tmp, final)
        if self.index is not None:
            self.index.record_object(oid.hex, info)


def corrupt_error(oid: Oid, where: str = "") -> IntegrityError:
    """The error for an object whose bytes do not hash to its name."""
    return IntegrityError(
        f"cache object {oid} is corrupt (its bytes hash differently){where}",
        hint="run `gitexp fsck` to move it aside, then `gitexp pull` to fetch it again",
    )


def _read_all(fd: int, size: int) -> bytes:
    """A small file in one read: a file that grew meanwhile returns more than ``size``."""
    return os.read(fd, size + 1)


def _check_unchanged(src: object, before: os.stat_result, after: os.stat_result, read: int) -> None:
    if (
        read != after.st_size
        or before.st_size != after.st_size
        or before.st_mtime_ns != after.st_mtime_ns
    ):
        raise ConflictError(
            f"'{os.fsdecode(src)}' changed while gitexp was reading it",  # type: ignore[arg-type]
            hint="wait until whatever writes it has finished, then run the command again",
        )
