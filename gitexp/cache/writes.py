"""How new objects enter the local cache: unnamed or temporary files, then a link or rename.

`gitexp.cache.objects.ObjectStore` owns one `Writes`. Small objects are written to an
unnamed file (``O_TMPFILE``, else a temporary name) in their bucket folder and linked
in; big ones are written to a temporary file under ``<cache>/tmp/``, hashed in the
same pass as they are copied, made read-only and renamed into place. A crash or a
kill never leaves a partial object under an object's name.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
from collections.abc import Callable
from pathlib import Path

from gitexp.cache.layout import mark_cache
from gitexp.cache.statindex import StatIndex
from gitexp.core.hashing import ALGORITHM, Hasher, Oid
from gitexp.errors import ConflictError

TMP_DIR = "tmp"
TMP_PREFIX = ".tmp-"
BUFFER = 4 << 20
"""Bytes read at a time from a big file: the memory a put needs, whatever the size."""
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.EBADF}
_NO_TMPFILE = {errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.EXDEV, errno.ENOSYS}


class Writes:
    """The write side of one store: its temporary names and what this system offers.

    ``touch`` says whether an object is there already (and refreshes its mtime); with
    an ``index``, every object written is recorded there as verified.
    """

    def __init__(self, root: Path, index: StatIndex | None, touch: Callable[[Oid], bool]) -> None:
        self.root = root
        self.index = index
        self.touch = touch
        self._tmp_ready = False
        self._tag = f"{os.getpid()}-{os.urandom(4).hex()}"
        self._counter = itertools.count()
        self._marked = False
        self.kernel_copy = hasattr(os, "copy_file_range")  # Linux only
        self.tmpfiles = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")

    def makedirs(self, folder: str | os.PathLike[str]) -> None:
        """Make a folder of the cache; the first in this process also marks the cache's layout."""
        os.makedirs(folder, exist_ok=True)
        if not self._marked:
            mark_cache(self.root)
            self._marked = True

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
                self.makedirs(folder)
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
        self.install(os.fspath(tmp), oid, os.stat(tmp))

    def write_all(self, items: list[tuple[Oid, bytes]]) -> None:
        """Store small objects; one that is there already is only touched.

        Where the filesystem has ``O_TMPFILE`` each object is written to an unnamed
        file in its bucket folder and linked in under its name: one change to the
        folder instead of two (create, rename), and no name at all until the bytes
        are written. The link fails on an object that is there, so nothing needs to
        look first. Elsewhere callers skip the objects that `touch` finds.
        """
        for oid, data in items:
            info = self._link_new(oid, data) if self.tmpfiles else self._rename_new(oid, data)
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
                self.makedirs(folder)
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
        self.tmpfiles = False
        return self._rename_new(oid, data, look=True)

    def _rename_new(self, oid: Oid, data: bytes, *, look: bool = False) -> os.stat_result | None:
        """Write ``data`` to a temporary name in its bucket folder and rename it in.

        With ``look``, an object that is there is touched instead (None).
        """
        if look and self.touch(oid):
            return None
        fd, tmp = self.tmpfile((self.root / oid.relpath).parent)
        try:
            os.write(fd, data)
            info = os.fstat(fd)
        finally:
            os.close(fd)
        os.rename(tmp, f"{self.root}/{oid.relpath}")
        return info

    def put_stream(
        self, fd: int, src: str | os.PathLike[str], before: os.stat_result
    ) -> tuple[Oid, int]:
        """Copy the open file ``fd`` into a temporary file, hashing as it goes; then install it.

        Raises `ConflictError` (and leaves nothing) when the file changes meanwhile.
        Returns the object and its size.
        """
        tmp_fd, tmp = self.tmpfile()
        hasher = Hasher()
        try:
            buffer = bytearray(BUFFER)
            view = memoryview(buffer)
            while count := os.readv(fd, [buffer]):
                hasher.update(view[:count])
                self._copy_range(fd, tmp_fd, view[:count], hasher.size - count)
            check_unchanged(src, before, os.fstat(fd), hasher.size)
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
            self.install(tmp, oid, info)
        return oid, hasher.size

    def _copy_range(self, src: int, dst: int, chunk: memoryview, offset: int) -> None:
        """Copy what was just read: in the kernel when it can, else from the buffer."""
        if self.kernel_copy:
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
                self.kernel_copy = False
        os.pwrite(dst, chunk, offset)

    def tmpfile(self, folder: Path | None = None) -> tuple[int, str]:
        """A new read-only temporary file (in ``folder``, default ``tmp/``), open for writing.

        Its name starts with ``.tmp-``, which is never an object's name.
        """
        if folder is None:
            folder = self.root / TMP_DIR
            if not self._tmp_ready:
                self.makedirs(folder)
                self._tmp_ready = True
        while True:
            name = str(folder / f"{TMP_PREFIX}{self._tag}-{next(self._counter)}")
            try:
                return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444), name
            except FileExistsError:
                continue
            except FileNotFoundError:
                self.makedirs(folder)

    def install(self, tmp: str, oid: Oid, info: os.stat_result) -> None:
        """Move a finished temporary file to its object path (read-only since creation)."""
        final = self.root / oid.relpath
        try:
            os.rename(tmp, final)
        except FileNotFoundError:
            self.makedirs(final.parent)
            os.rename(tmp, final)
        if self.index is not None:
            self.index.record_object(oid.hex, info)


def read_all(fd: int, size: int) -> bytes:
    """A small file in one read: a file that grew meanwhile returns more than ``size``."""
    return os.read(fd, size + 1)


def check_unchanged(src: object, before: os.stat_result, after: os.stat_result, read: int) -> None:
    """`ConflictError` when a file changed (size or mtime) while it was being read."""
    if (
        read != after.st_size
        or before.st_size != after.st_size
        or before.st_mtime_ns != after.st_mtime_ns
    ):
        raise ConflictError(
            f"'{os.fsdecode(src)}' changed while gitexp was reading it",  # type: ignore[arg-type]
            hint="wait until whatever writes it has finished, then run the command again",
        )
