"""A storage remote in a local or mounted directory: the default, nothing to start."""

from __future__ import annotations

import builtins
import contextlib
import errno
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import TMP_MARK, Backend, TransientError, check_key, is_temporary

_READ = 1 << 20


class LocalBackend(Backend):
    """Objects as files under ``root`` (created on the first upload).

    Uploads are written to a temporary file beside their target and renamed into
    place, so a killed upload leaves at most a ``.gitexp-tmp-`` file that `list`
    skips. Objects are made read-only, like those of the cache.

    On a local disk one thread moves small files fastest (creating a file is a
    short system call, and threads only contend for the folders and the
    interpreter); on a network mount each call waits for the server, so several
    run at once.
    """

    default_jobs = 1

    def __init__(self, root: str | os.PathLike[str], url: str | None = None) -> None:
        self.root = Path(root)
        self.url = url or str(self.root)
        if _on_network_mount(self.root):
            self.default_jobs = NETWORK_JOBS
        self._prefix = f"{self.root}/"
        self._made: set[str] = set()
        self._serial = itertools.count()

    def describe(self) -> str:
        """See `Backend.describe`."""
        return self.url

    def _path(self, key: str) -> str:
        return self._prefix + check_key(key)

    def identity(self) -> str:
        """See `Backend.identity`: the folder's absolute path."""
        return f"file://{os.path.abspath(self.root)}"

    def exists(self, key: str) -> bool:
        """See `Backend.exists`."""
        return os.path.isfile(self._path(key))

    def get(self, key: str, dest: Path) -> None:
        """See `Backend.get`."""
        try:
            shutil.copyfile(self._path(key), dest)
        except FileNotFoundError:
            raise NotFoundError(f"{key} is not on {self.url}") from None
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc

    def get_bytes(self, key: str) -> bytes:
        """See `Backend.get_bytes`: one open, one read (two for a file that grew), one close."""
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            raise NotFoundError(f"{key} is not on {self.url}") from None
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc
        try:
            return _read_all(fd)
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc
        finally:
            os.close(fd)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """See `Backend.get_range`: one positioned read."""
        try:
            fd = os.open(self._path(key), os.O_RDONLY)
        except FileNotFoundError:
            raise NotFoundError(f"{key} is not on {self.url}") from None
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc
        try:
            return os.pread(fd, max(0, end - start), start)
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc
        finally:
            os.close(fd)

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        self._store(key, lambda fd: _copy_into(src, fd))

    def put_bytes(self, data: bytes, key: str) -> None:
        """See `Backend.put_bytes`."""
        self._store(key, lambda fd: _write_all(fd, data))

    def _store(self, key: str, fill: Callable[[int], None]) -> None:
        """Fill a new temporary file beside the target, then rename it into place."""
        target = self._path(key)
        folder = os.path.dirname(target)
        tmp = f"{folder}/{TMP_MARK}{os.getpid()}-{next(self._serial)}"
        try:
            fd = self._create(folder, tmp)
        except OSError as exc:
            raise _storage_error(exc, self.url, key) from exc
        try:
            try:
                fill(fd)
            finally:
                os.close(fd)
            os.rename(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise _storage_error(exc, self.url, key) from exc
            raise

    def _create(self, folder: str, tmp: str) -> int:
        """Open a new read-only file ``tmp``, making its folder on first use."""
        if folder not in self._made:
            if not self._made:
                self._check_root()
            os.makedirs(folder, exist_ok=True)
            self._made.add(folder)
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileNotFoundError:  # the folder was removed meanwhile
            os.makedirs(folder, exist_ok=True)
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)

    def _check_root(self) -> None:
        """Make the remote's own folder at most: a missing parent is a mistyped path.

        Raises `StorageError` naming the missing folder, so a typo never makes a tree.
        """
        if self.root.is_dir():
            return
        parent = self.root.parent
        if not parent.is_dir():
            raise StorageError(
                f"cannot make storage remote {self.url}: the folder {parent} does not exist",
                hint="create that folder first, or point the remote at another path "
                "(`gitexp remote add --force NAME PATH`)",
            )

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

    def sizes(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """See `Backend.sizes`."""
        for key in self.list(prefix):
            try:
                yield key, os.stat(self._path(key)).st_size
            except FileNotFoundError:
                continue

    def folders(self, prefix: str) -> builtins.list[str]:
        """See `Backend.folders`."""
        try:
            with os.scandir(self.root / prefix) as found:
                return sorted(e.name for e in found if e.is_dir(follow_symlinks=False))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as exc:
            raise _storage_error(exc, self.url, prefix) from exc

    def delete(self, key: str) -> None:
        """See `Backend.delete`."""
        path = self._path(key)
        try:
            os.unlink(path)
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


NETWORK_JOBS = 8
_NETWORK_FILESYSTEMS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre", "davfs"}
)


def _on_network_mount(path: Path) -> bool:
    """Whether ``path`` (or the nearest folder above it that exists) is on a network mount.

    Read from ``/proc/self/mounts``; where there is no such file, False.
    """
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as handle:
            mounts = [line.split()[1:3] for line in handle if line.count(" ") >= 2]
    except OSError:
        return False
    where = os.path.realpath(path)
    best, kind = "", ""
    for point, fstype in mounts:
        point = point.replace("\\040", " ")
        inside = where == point or where.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fstype
    return kind in _NETWORK_FILESYSTEMS or kind.startswith("fuse.")


def _read_all(fd: int) -> bytes:
    """Everything left in the open file ``fd``: a small file takes one read."""
    chunks = []
    while chunk := os.read(fd, _READ):
        chunks.append(chunk)
        if len(chunk) < _READ:
            break
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


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
