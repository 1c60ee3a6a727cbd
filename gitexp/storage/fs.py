"""Storage remotes on fsspec filesystems: S3, GCS, Azure Blob, SFTP and read-only HTTP.

One class serves every scheme: the filesystem object is built by `gitexp.storage.open`,
and this module maps fsspec's calls and errors onto the `Backend` contract. Every call
has a timeout, so a server that stops answering fails the call instead of hanging it.

Many small objects move through the filesystem's own event loop: `get_many` and
`put_many` run up to ``jobs`` requests at once there, as coroutines, instead of one
blocking call per object from a pool of threads (each of which would hand its call
to that same loop and wait).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import inspect
import queue
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from gitexp.core.remotes import scrub
from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import (
    TMP_MARK,
    Backend,
    Failure,
    Outcome,
    ReadOnlyError,
    TransientError,
    check_key,
    is_temporary,
)

T = TypeVar("T")
R = TypeVar("R")
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
    ``part_options`` go to every upload and download of a big object (part sizes).
    """

    default_jobs = 16
    bulk_jobs = 32
    """Requests at once on the event loop when the service takes atomic uploads (S3, GCS,
    Azure): measured against an S3 server on loopback, 32 moved small objects about
    as fast as 64 and faster than 16."""

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
        identity: str | None = None,
        part_options: Mapping[str, int] | None = None,
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.url = url
        self._identity = identity or url
        self._container_seen = False
        self._one_request = _one_request_options(fs)
        self._parts = dict(part_options or {})
        if atomic_put and not read_only:
            self.default_jobs = self.bulk_jobs
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

    def identity(self) -> str:
        """See `Backend.identity`."""
        return self._identity

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
            lambda: self.fs.get_file(
                self._path(key), str(dest), timeout=self.timeout, **self._parts
            ),
        )

    def get_bytes(self, key: str) -> bytes:
        """See `Backend.get_bytes`."""
        return self._call(
            "download",
            key,
            lambda: bytes(
                self.fs.cat_file(self._path(key), timeout=self.timeout, **self._one_request)
            ),
        )

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        self._store(
            key, lambda path: self.fs.put_file(str(src), path, timeout=self.timeout, **self._parts)
        )

    def put_bytes(self, data: bytes, key: str) -> None:
        """See `Backend.put_bytes`."""
        self._store(key, lambda path: self.fs.pipe_file(path, data, timeout=self.timeout))

    def _store(self, key: str, write: Callable[[str], object]) -> None:
        """Write through ``write(path)``: in place if uploads are atomic, else by renaming."""
        self._check_writable()
        path = self._path(key)
        if self.atomic_put:
            self._call("upload", key, lambda: write(path))
            return
        parent = path.rsplit("/", 1)[0]
        self._makedirs(parent, key)
        tmp = f"{parent}/{TMP_MARK}{uuid.uuid4().hex}"
        try:
            self._call("upload", key, lambda: write(tmp))
            self._call("upload", key, lambda: self.fs.mv(tmp, path, timeout=self.timeout))
        except BaseException:
            with contextlib.suppress(Exception):
                self.fs.rm_file(tmp, timeout=self.timeout)
            raise

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(
                f"storage remote {self.url} is read-only",
                hint="push to an s3://, gs://, az://, ssh:// or directory remote instead",
            )

    @property
    def _bulk(self) -> bool:
        """Whether the filesystem runs coroutines on an event loop of its own."""
        return bool(getattr(self.fs, "async_impl", False)) and self.fs.loop is not None

    def get_many(self, keys: Iterable[str], jobs: int) -> Iterator[Outcome[bytes]]:
        """See `Backend.get_many`: as coroutines on the filesystem's event loop."""
        if not self._bulk:
            return super().get_many(keys, jobs)

        async def fetch(key: str, _payload: None) -> bytes:
            return bytes(await self.fs._cat_file(self._path(key), **self._one_request))

        return self._stream("download", ((k, None) for k in keys), fetch, jobs)

    def put_many(self, items: Iterable[tuple[str, bytes]], jobs: int) -> Iterator[Outcome[None]]:
        """See `Backend.put_many`: as coroutines where uploads are atomic."""
        self._check_writable()
        if not (self._bulk and self.atomic_put):
            return super().put_many(items, jobs)

        async def store(key: str, data: bytes) -> None:
            await self.fs._pipe_file(self._path(key), data)

        return self._stream("upload", items, store, jobs)

    def _stream(
        self,
        action: str,
        items: Iterable[tuple[str, T]],
        work: Callable[[str, T], Awaitable[R]],
        jobs: int,
    ) -> Iterator[Outcome[R]]:
        """Run ``work`` on every item on the filesystem's loop, ``jobs`` at a time.

        Outcomes come back through a queue to the calling thread, which translates
        errors (that may need a blocking call of its own). Closing the iterator early
        cancels the requests in flight and returns once no item will be taken any more.
        """
        loop = self.fs.loop
        pump = _Pump(items, work, max(1, jobs), self.timeout)
        future = asyncio.run_coroutine_threadsafe(pump.run(), loop)
        finished = False
        try:
            while (got := pump.results.get()) is not None:
                pump.taken(loop)
                key, value, error = got
                if error is None:
                    yield key, value  # type: ignore[misc]
                else:
                    yield key, self._translate(error, action, key)
            finished = True
            future.result()
        finally:
            if not finished:
                pump.halt(self.fs.loop)

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

    def folders(self, prefix: str) -> builtins.list[str]:
        """See `Backend.folders`: one listing with a delimiter."""
        base = f"{self.root}/{prefix}".rstrip("/") if prefix else self.root
        entries = self._call("list", prefix or "/", lambda: self._entries(base))
        names = {
            str(e["name"]).rstrip("/").rsplit("/", 1)[-1]
            for e in entries
            if e.get("type") == "directory"
        }
        return sorted(n for n in names if n and not is_temporary(n))

    def _entries(self, base: str) -> builtins.list[dict[str, Any]]:
        try:
            return list(self.fs.ls(base, detail=True, timeout=self.timeout))
        except FileNotFoundError:
            if self._folder_root or (base != self.root and self._container_exists()):
                return []
            raise

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
        if self._folder_root or self._container_seen:
            return True
        top = self.root.lstrip("/").split("/", 1)[0]
        try:
            self._container_seen = bool(self.fs.exists(top, timeout=self.timeout))
        except Exception:
            return True
        return self._container_seen

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

    def _translate(self, exc: Exception, action: str, key: str) -> Failure:
        reason = scrub(_reason(exc), self.secrets)
        where = f"storage remote {self.url}"
        if isinstance(exc, FileNotFoundError) and action in ("download", "check", "delete"):
            if action == "download" and not self._container_exists():
                return _missing_container(where, self.container)
            return NotFoundError(f"{key} is not on {where}")
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


def _one_request_options(fs: Any) -> dict[str, int]:
    """Options that make ``fs`` read a small object in one request.

    Left to itself, s3fs asks for an object's size (a request of its own) before
    reading it, to decide whether to read it in parallel parts; gcsfs likewise.
    """
    method = getattr(fs, "_cat_file", None)
    if method is None:
        return {}
    try:
        names = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return {}
    for name in ("max_concurrency", "concurrency"):
        if name in names:
            return {name: 1}
    return {}


class _Pump(Generic[T, R]):
    """Runs ``work`` on items on an event loop, ``jobs`` at a time; outcomes on a queue.

    ``results`` gets ``(key, value, None)`` or ``(key, None, error)`` per item and a
    final None, however the run ends, once it has started. At most `BACKLOG` times
    ``jobs`` outcomes wait there: a reader slower than the network holds the
    requests back instead of letting downloads pile up in memory.
    """

    BACKLOG = 4

    def __init__(
        self,
        items: Iterable[tuple[str, T]],
        work: Callable[[str, T], Awaitable[R]],
        jobs: int,
        timeout: float,
    ) -> None:
        self.items = iter(items)
        self.work = work
        self.jobs = jobs
        self.timeout = timeout
        self.results: queue.SimpleQueue[tuple[str, object, Exception | None] | None]
        self.results = queue.SimpleQueue()
        self.stop = threading.Event()
        self.started = threading.Event()
        self.running: set[asyncio.Task[None]] = set()
        self.task: asyncio.Task[Any] | None = None
        self.room: asyncio.Semaphore | None = None
        self._taken = 0

    async def run(self) -> None:
        """Start an item each time a slot frees up, until none is left or it is halted."""
        self.started.set()
        self.task = asyncio.current_task()
        try:
            slots = asyncio.Semaphore(self.jobs)
            self.room = asyncio.Semaphore(self.BACKLOG * self.jobs)
            while not self.stop.is_set():
                await self.room.acquire()
                await slots.acquire()
                if self.stop.is_set():
                    break
                item = next(self.items, None)
                if item is None:
                    break
                task = asyncio.ensure_future(self._one(item[0], item[1], slots))
                self.running.add(task)
                task.add_done_callback(self.running.discard)
            while self.running:
                await asyncio.wait(set(self.running))
        finally:
            for task in list(self.running):
                task.cancel()
            self.results.put(None)

    async def _one(self, key: str, payload: T, slots: asyncio.Semaphore) -> None:
        try:
            value = await asyncio.wait_for(self.work(key, payload), self.timeout)
        except Exception as exc:
            self.results.put((key, None, exc))
        else:
            self.results.put((key, value, None))
        finally:
            slots.release()

    def taken(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the reading thread: one outcome was read; make room for more, a few at a time."""
        self._taken += 1
        if self._taken >= self.jobs:
            loop.call_soon_threadsafe(self._make_room, self._taken)
            self._taken = 0

    def _make_room(self, count: int) -> None:
        if self.room is not None:
            for _ in range(count):
                self.room.release()

    def halt(self, loop: asyncio.AbstractEventLoop) -> None:
        """From another thread: stop taking items, cancel those in flight, wait for the end.

        Once this returns, no item is taken from ``items`` any more.
        """
        self.stop.set()
        loop.call_soon_threadsafe(self._cancel)
        if self.started.is_set():
            while self.results.get() is not None:
                pass

    def _cancel(self) -> None:
        for task in list(self.running):
            task.cancel()
        if self.task is not None:
            self.task.cancel()


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
