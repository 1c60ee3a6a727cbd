"""A storage remote in a local or mounted directory: the default, nothing to start."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import TMP_MARK, Backend, TransientError, check_key, is_temporary


class LocalBackend(Backend):
    """Objects as files under ``root`` (created on the first upload).

    Uploads are written to a temporary file beside their target and renamed into
    place, so a killed upload leaves at most a ``.gitexp-tmp-`` file that `list`
    skips. Objects are made read-only, like those of the cache.
    """

    default_jobs = 4

    def __init__(self, root: str | os.PathLike[str], url: str | None = None) -> None:
        self.root = Path(root)
        self.url = url or str(self.root)
        self._made: set[Path] = set()
        self._serial = itertools.count()

    def describe(self) -> str:
        """See `Backend.describe`."""
        return self.url

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def exists(self, key: str) -> bool:
        """See `Backend.exists`."""
        return self._path(key).is_file()

    def get(self, key: str, dest: Path) -> None:
        """See `Backend.get`."""
        try:
            shutil.copyfile(self._path(key), dest)
        except FileNotFoundError:
            raise NotFoundError(f"{key} is not on {self.url}") from None
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        target = self._path(key)
        tmp = target.parent / f"{TMP_MARK}{os.getpid()}-{next(self._serial)}"
        try:
            if target.parent not in self._made:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._made.add(target.parent)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc
        try:
            try:
                _copy_into(src, fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise _storage_error(exc, self.url, key) from exc
            raise

    def list(self, prefix: str = "") -> Iterator[str]:
        """See `Backend.list`."""
        base = self.root / prefix if prefix else self.root
        start = len(str(self.root)) + 1
        for dirpath, _dirs, files in os.walk(base):
            head = dirpath[start:].replace(os.sep, "/")
            for name in files:
                key = f"{head}/{name}" if head else name
                if not is_temporary(key):
                    yield key

    def delete(self, key: str) -> None:
        """See `Backend.delete`."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc


def _copy_into(src: Path, fd: int) -> None:
    """Copy the file ``src`` into the open file ``fd``, in the kernel where it can."""
    with open(src, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        offset = 0
        while offset < size:
            sent = os.sendfile(fd, source.fileno(), offset, size - offset)
            if sent == 0:
                break
            offset += sent


def _storage_error(exc: OSError, url: str, key: str) -> StorageError:
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return StorageError(
            f"storage remote {url} refused writing {key}: {reason}",
            hint="check the folder's permissions, or use another remote",
        )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(f"storage remote {url} is full: {reason}", hint="free space and retry")
    return TransientError(f"storage remote {url} failed on {key}: {reason}")
