"""Storage remotes on fsspec filesystems: S3, GCS, Azure Blob, SFTP and read-only HTTP.

One class serves every scheme: the filesystem object is built by `gitexp.storage.open`,
and this module maps fsspec's calls and errors onto the `Backend` contract. Every call
has a timeout, so a server that stops answering fails the call instead of hanging it.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from gitexp.core.remotes import scrub
from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import (
    TMP_MARK,
    Backend,
    ReadOnlyError,
    TransientError,
    check_key,
    is_temporary,
)

T = TypeVar("T")
_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EPIPE,
    errno.EIO,
    errno.EREMOTEIO,  # s3fs's word for a 500 InternalError ("please try again")
    errno.EBUSY,  # s3fs's word for a 503 SlowDown
}


class FsspecBackend(Backend):
    """Objects under ``root`` (``bucket/prefix``, or a folder) of an fsspec filesystem.

    ``atomic_put``: the service publishes an upload only when it completes (S3, GCS,
    Azure). Otherwise (SFTP) an upload goes to a temporary name and is renamed.
    """

    default_jobs = 16

    def __init__(
        self,
        fs: Any,
        root: str,
        url: str,
        *,
        atomic_put: bool = True,
        read_only: bool = False,
        secrets: Sequence[str] = (),
        timeout: float = 60.0,
        container: str = "bucket",
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self.atomic_put = atomic_put
        self.read_only = read_only
        self.secrets = list(secrets)
        self.timeout = timeout
        self.container = container
        self._made: set[str] = set()
        self._lock = threading.Lock()

    def describe(self) -> str:
        """See `Backend.describe`."""
        return self.url

    def _path(self, key: str) -> str:
        return f"{self.root}/{check_key(key)}" if self.root else check_key(key)

    def exists(self, key: str) -> bool:
        """See `Backend.exists`."""
        return self._call(
            "check", key, lambda: bool(self.fs.exists(self._path(key), timeout=self.timeout))
        )

    def get(self, key: str, dest: Path) -> None:
        """See `Backend.get`."""
        self._call(
            "download",
            key,
            lambda: self.fs.get_file(self._path(key), str(dest), timeout=self.timeout),
        )

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        if self.read_only:
            raise ReadOnlyError(
                f"storage remote {self.url} is read-only",
                hint="push to an s3://, gs://, az://, ssh:// or directory remote instead",
            )
        path = self._path(key)
        if self.atomic_put:
            self._call(
                "upload", key, lambda: self.fs.put_file(str(src), path, timeout=self.timeout)
            )
            return
        parent = path.rsplit("/", 1)[0]
        self._makedirs(parent, key)
        tmp = f"{parent}/{TMP_MARK}{uuid.uuid4().hex}"
        try:
            self._call("upload", key, lambda: self.fs.put_file(str(src), tmp, timeout=self.timeout))
            self._call("upload", key, lambda: self.fs.mv(tmp, path, timeout=self.timeout))
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp, timeout=self.timeout)
            raise

    def _makedirs(self, folder: str, key: str) -> None:
        with self._lock:
            if folder in self._made:
                return
        self._call(
            "upload", key, lambda: self.fs.makedirs(folder, exist_ok=True, timeout=self.timeout)
        )
        with self._lock:
            self._made.add(folder)

    def list(self, prefix: str = "") -> Iterator[str]:
        """See `Backend.list`."""
        base = f"{self.root}/{prefix}".rstrip("/") if prefix else self.root
        found = self._call("list", prefix or "/", lambda: self._find(base))
        folder = prefix.rstrip("/") + "/" if prefix else ""
        for path in found:
            key = _relative(path, self.root)
            if key.startswith(folder) and key != folder and not is_temporary(key):
                yield key

    def _find(self, base: str) -> builtins.list[str]:
        try:
            return list(self.fs.find(base, timeout=self.timeout))
        except FileNotFoundError:
            if self._folder_root or (base != self.root and self._container_exists()):
                return []
            raise

    @property
    def _folder_root(self) -> bool:
        """The root is a folder made on the first upload (SFTP), not a bucket that must exist."""
        return self.container in ("folder", "site")

    def _container_exists(self) -> bool:
        if self._folder_root:
            return True
        top = self.root.lstrip("/").split("/", 1)[0]
        try:
            return bool(self.fs.exists(top, timeout=self.timeout))
        except Exception:
            return True

    def delete(self, key: str) -> None:
        """See `Backend.delete`."""
        if self.read_only:
            raise ReadOnlyError(f"storage remote {self.url} is read-only")
        with contextlib.suppress(NotFoundError):
            self._call(
                "delete", key, lambda: self.fs.rm_file(self._path(key), timeout=self.timeout)
            )

    def close(self) -> None:
        """See `Backend.close`."""
        with contextlib.suppress(Exception):
            closer = getattr(self.fs, "close", None)
            if callable(closer) and not asyncio.iscoroutinefunction(closer):
                closer()

    def _call(self, action: str, key: str, call: Callable[[], T]) -> T:
        """Run ``call``, turning fsspec, network and service errors into gitexp's."""
        try:
            return call()
        except Exception as exc:
            raise self._translate(exc, action, key) from exc

    def _translate(self, exc: Exception, action: str, key: str) -> StorageError:
        reason = scrub(_reason(exc), self.secrets)
        where = f"storage remote {self.url}"
        if isinstance(exc, FileNotFoundError) and action in ("download", "check", "delete"):
            if action == "download" and not self._container_exists():
                return _missing_container(where, self.container)
            return NotFoundError(f"{key} is not on {where}")  # type: ignore[return-value]
        if isinstance(exc, FileNotFoundError):
            return _missing_container(where, self.container)
        if isinstance(exc, PermissionError) or _says(
            reason,
            "denied",
            "forbidden",
            "invalidaccesskey",
            "signature",
            "authoriz",
            "authentic",
            "credential",
        ):
            return StorageError(
                f"{where} refused access ({action} {key}): {reason}",
                hint="check the credentials: the local config (`gitexp remote modify --local`) "
                "or the environment",
            )
        if _is_transient(exc):
            return TransientError(f"{where} did not answer ({action} {key}): {reason}")
        return StorageError(f"{where} failed ({action} {key}): {reason}")


def _relative(path: str, root: str) -> str:
    path = path.lstrip("/")
    root = root.lstrip("/")
    if root and path.startswith(root + "/"):
        return path[len(root) + 1 :]
    return "" if root else path


def _missing_container(where: str, container: str) -> StorageError:
    return StorageError(
        f"{where} does not exist: its {container} is missing",
        hint=f"create the {container}, or fix the remote's URL (`gitexp remote list`)",
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _says(text: str, *words: str) -> bool:
    lower = text.lower().replace(" ", "")
    return any(w in lower for w in words)


def _is_transient(exc: BaseException) -> bool:
    """Connection refused or reset, timeouts, and 5xx answers: worth another try."""
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {
        "TimeoutError",
        "FSTimeoutError",
        "ConnectionError",
        "ClientConnectionError",
        "ServerDisconnectedError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ServiceRequestError",
        "ServiceResponseError",
        "ConnectionLost",
        "DisconnectError",
        "ChannelOpenError",
        "IncompleteRead",
    }:
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    text = str(exc).lower()
    return any(
        s in text
        for s in (
            "connection refused",
            "cannot connect",
            "timed out",
            "503",
            "502",
            "500 internal",
            "internal error",
            "please try again",
            "slow down",
        )
    )
