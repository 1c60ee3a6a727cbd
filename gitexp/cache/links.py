"""Workspace copies of cache objects: reflink, copy, hardlink or symlink.

``reflink`` (the default) clones the object where the filesystem can (btrfs, XFS,
APFS…) and copies it in the kernel where it cannot; ``copy`` always copies;
``hardlink`` and ``symlink`` share the object itself, so those files are read-only
(the object's mode) and nobody edits the cache through them. An executable file is
never linked (one object may be both executable and not): it is copied and made
read-only instead.

A corrupt object is never copied into the workspace: an object that gitexp has not
hashed since it entered the cache is hashed while it is copied, and a mismatch
removes the copy and raises `IntegrityError` naming the object.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Callable, Iterable

from gitexp.cache.objects import BUFFER, ObjectStore, corrupt_error
from gitexp.cache.statindex import FolderRows, Stamp
from gitexp.core.hashing import Hasher, Oid
from gitexp.core.manifest import Entry
from gitexp.errors import NotFoundError

FICLONE = 0x40049409
_NO_CLONE = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EBADF}
_NO_KERNEL_COPY = {errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL}
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOSYS}
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


class Linker:
    """Makes workspace files from cache objects with one link type."""

    def __init__(self, store: ObjectStore, link: str = "reflink", jobs: int | None = None) -> None:
        self.store = store
        self.link = link
        self.jobs = jobs or os.cpu_count() or 1
        self._clone = link == "reflink"
        self._kernel_copy = True
        self._verified: dict[str, Stamp] = {}
        self._objects = f"{store.root}/blake3/"

    def prepare(self, oids: Iterable[Oid]) -> None:
        """Look up, in one batch, which of these objects are known to be intact."""
        if self.store.index is not None:
            self._verified.update(self.store.index.verified_objects(o.hex for o in oids))

    def write(
        self, oid: Oid, dst: str, *, executable: bool = False, where: str = ""
    ) -> os.stat_result | None:
        """Create ``dst`` (which must not exist) holding object ``oid``.

        Returns the stat data of the copy it wrote (None for a link to the object).
        Raises `NotFoundError` when the object is not in the cache and `IntegrityError`
        when its bytes do not match its hash (then ``dst`` is not left behind).
        """
        src = f"{self._objects}{oid.hex[:2]}/{oid.hex[2:]}"
        if self.link in ("hardlink", "symlink") and not executable:
            self._share(oid, src, dst, where)
            return None
        mode = 0o777 if executable else 0o666
        try:
            fd_in = os.open(src, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise _missing(oid, where) from exc
        try:
            info = os.fstat(fd_in)
            fd_out = os.open(dst, _CREATE, mode)
            try:
                if self._trusted(oid, info):
                    self._copy(fd_in, fd_out, info.st_size)
                else:
                    self._copy_checked(oid, fd_in, fd_out, info, where)
                if self.link in ("hardlink", "symlink"):
                    os.fchmod(fd_out, 0o555)  # read-only: an executable that is not linked
                written = os.fstat(fd_out)
            except BaseException:
                os.close(fd_out)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(dst)
                raise
            os.close(fd_out)
        finally:
            os.close(fd_in)
        return written

    def write_all(
        self, folder: str, entries: Iterable[Entry], rel: str, on_file: Callable[[str], None] | None
    ) -> FolderRows:
        """`write` each entry under ``folder`` (its folders made, its files absent).

        Returns the stat index rows of the copies (links have none); ``on_file`` is told
        each path written. For data of many small files this loop is most of a
        checkout, so the common case (a copy of an object known to be intact) is
        written out here in full and anything else goes through `write`.
        """
        if self.link in ("hardlink", "symlink"):
            return self._write_each(folder, entries, rel, on_file)
        rows: FolderRows = {}
        objects, verified = self._objects, self._verified
        open_, fstat, close = os.open, os.fstat, os.close
        plain = not self._clone and self._kernel_copy
        for entry in entries:
            hx = entry.oid.hex
            dst = f"{folder}/{entry.path}"
            try:
                fd_in = open_(f"{objects}{hx[:2]}/{hx[2:]}", os.O_RDONLY)
            except FileNotFoundError as exc:
                raise _missing(entry.oid, f" (for {rel}/{entry.path})") from exc
            try:
                info = fstat(fd_in)
                size = info.st_size
                if verified.get(hx) != (info.st_ino, size, info.st_mtime_ns):
                    where = f" (for {rel}/{entry.path})"
                    written = self.write(entry.oid, dst, executable=entry.exec, where=where)
                else:
                    fd_out = open_(dst, _CREATE, 0o777 if entry.exec else 0o666)
                    try:
                        if size and not (plain and _kernel_copied(fd_in, fd_out, size)):
                            self._copy_over(fd_in, fd_out, size)
                            plain = not self._clone and self._kernel_copy
                        written = fstat(fd_out)
                    except BaseException:
                        close(fd_out)
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(dst)
                        raise
                    close(fd_out)
            finally:
                close(fd_in)
            if written is not None:
                rows[entry.path] = [written.st_ino, size, written.st_mtime_ns, hx, entry.exec]
            if on_file is not None:
                on_file(entry.path)
        return rows

    def _write_each(
        self, folder: str, entries: Iterable[Entry], rel: str, on_file: Callable[[str], None] | None
    ) -> FolderRows:
        rows: FolderRows = {}
        for entry in entries:
            where = f" (for {rel}/{entry.path})"
            written = self.write(
                entry.oid, f"{folder}/{entry.path}", executable=entry.exec, where=where
            )
            if written is not None:
                rows[entry.path] = [
                    written.st_ino,
                    written.st_size,
                    written.st_mtime_ns,
                    entry.oid.hex,
                    entry.exec,
                ]
            if on_file is not None:
                on_file(entry.path)
        return rows

    def _trusted(self, oid: Oid, info: os.stat_result) -> bool:
        return self._verified.get(oid.hex) == Stamp.of(info)

    def _share(self, oid: Oid, src: str, dst: str, where: str) -> None:
        try:
            info = os.stat(src)
        except FileNotFoundError as exc:
            raise _missing(oid, where) from exc
        if not self._trusted(oid, info):
            self._verify(oid, src, info, where)
        if self.link == "symlink":
            os.symlink(src, dst)
            return
        try:
            os.link(src, dst)
        except OSError as exc:
            if exc.errno not in _NO_LINK:
                raise
            self.link = "copy"
            self.write(oid, dst, where=where)
            os.chmod(dst, 0o444)

    def _verify(self, oid: Oid, src: str, info: os.stat_result, where: str) -> None:
        hasher = Hasher()
        with open(src, "rb") as handle:
            while chunk := handle.read(BUFFER):
                hasher.update(chunk)
        if hasher.oid != oid:
            raise corrupt_error(oid, where)
        self._remember(oid, info)

    def _remember(self, oid: Oid, info: os.stat_result) -> None:
        self._verified[oid.hex] = Stamp.of(info)
        if self.store.index is not None:
            self.store.index.record_object(oid.hex, info)

    def _copy(self, fd_in: int, fd_out: int, size: int) -> None:
        """Clone, else copy in the kernel, else copy through a buffer."""
        if size == 0 or (self._clone and self._try_clone(fd_in, fd_out)):
            return
        if self._kernel_copy and self._try_kernel_copy(fd_in, fd_out, size):
            return
        while chunk := os.read(fd_in, BUFFER):
            os.write(fd_out, chunk)

    def _copy_over(self, fd_in: int, fd_out: int, size: int) -> None:
        """`_copy`, after a first attempt that may have copied part of the object."""
        os.lseek(fd_in, 0, os.SEEK_SET)
        os.lseek(fd_out, 0, os.SEEK_SET)
        os.ftruncate(fd_out, 0)
        self._copy(fd_in, fd_out, size)

    def _try_clone(self, fd_in: int, fd_out: int) -> bool:
        try:
            fcntl.ioctl(fd_out, FICLONE, fd_in)
        except OSError as exc:
            if exc.errno not in _NO_CLONE:
                raise
            self._clone = False
            return False
        return True

    def _try_kernel_copy(self, fd_in: int, fd_out: int, size: int) -> bool:
        try:
            done = 0
            while done < size:
                step = os.copy_file_range(fd_in, fd_out, size - done)
                if step == 0:
                    break
                done += step
        except OSError as exc:
            if exc.errno not in _NO_KERNEL_COPY:
                raise
            self._kernel_copy = False
            done = -1
        if done == size:
            return True
        os.lseek(fd_in, 0, os.SEEK_SET)
        os.lseek(fd_out, 0, os.SEEK_SET)
        os.ftruncate(fd_out, 0)
        return False

    def _copy_checked(
        self, oid: Oid, fd_in: int, fd_out: int, info: os.stat_result, where: str
    ) -> None:
        """Copy through a buffer, hashing; the copy is only kept if the hash matches."""
        hasher = Hasher()
        buffer = bytearray(min(BUFFER, info.st_size + 1))
        view = memoryview(buffer)
        while count := os.readv(fd_in, [buffer]):
            hasher.update(view[:count])
            os.write(fd_out, view[:count])
        if hasher.oid != oid:
            raise corrupt_error(oid, where)
        self._remember(oid, info)


def _kernel_copied(fd_in: int, fd_out: int, size: int) -> bool:
    """Whether one ``copy_file_range`` copied all ``size`` bytes (most small files)."""
    try:
        return os.copy_file_range(fd_in, fd_out, size) == size
    except OSError:
        return False


def _missing(oid: Oid, where: str) -> NotFoundError:
    return NotFoundError(
        f"object {oid}{where} is not in the cache", hint="run `gitexp pull` to fetch it"
    )
