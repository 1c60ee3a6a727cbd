"""The storage interface every remote backend implements, and its errors.

A storage remote is a flat namespace of write-once objects. Keys are relative,
``/``-separated paths; gitexp stores object ``oid`` under ``oid.relpath``
(``blake3/ab/cdef…``), the same layout as the local cache, so a remote is just a
folder of objects. Backends hold no policy: retries, timeouts and parallelism are
wrappers and callers around them (see `gitexp.storage.retry`, `gitexp.storage.transfer`).

Besides one call per object, a backend moves many small objects in one call
(`Backend.get_many`, `Backend.put_many`): each object's outcome is reported on its
own, so one failure neither hides nor stops the others, and a backend with a bulk
path (one event loop running many requests at once) uses it.
"""

from __future__ import annotations

import abc
import builtins
import queue
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from gitexp.errors import NotFoundError, StorageError

TMP_MARK = ".gitexp-tmp-"
"""Part of the name of an upload in progress; `Backend.list` never reports such keys."""
T = TypeVar("T")
R = TypeVar("R")
Failure = StorageError | NotFoundError
Outcome = tuple[str, R | Failure]
"""A key and what became of it: the result, or the error it met (`NotFoundError` if absent)."""


class TransientError(StorageError):
    """A failure that may pass if the same call is tried again.

    A refused or reset connection, a timeout, a server error: `gitexp.storage.retry`
    retries these only.
    """

    kind = "storage"


class ReadOnlyError(StorageError):
    """A write (put or delete) to a remote that only serves reads, such as https://."""

    kind = "storage"


class Backend(abc.ABC):
    """One storage remote. Every method may raise `StorageError` (or `TransientError`).

    Implementations are safe to call from several threads at once.
    """

    read_only: bool = False
    default_jobs: int = 8
    """How many transfers to run at once when the user sets no ``jobs``."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Where this remote is, for messages: a URL or path with every secret redacted."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``; an upload in progress is not."""

    @abc.abstractmethod
    def get(self, key: str, dest: Path) -> None:
        """Write the bytes stored under ``key`` into the local file ``dest`` (replaced).

        Raises `gitexp.errors.NotFoundError` when there is no such object. The bytes
        are not checked here: the caller verifies them against their hash. On failure
        ``dest`` may hold part of the bytes; the caller owns and removes it.
        """

    @abc.abstractmethod
    def put(self, src: Path, key: str) -> None:
        """Store the bytes of the local file ``src`` under ``key``.

        Atomic: a reader sees no object or the whole object, never part of one, even
        if the process is killed or the connection drops. Storing a key that exists
        replaces it with the same bytes (keys name their content), so a retry is safe.
        Raises `ReadOnlyError` on a read-only remote.
        """

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Every key in the folder ``prefix`` and below it, in no particular order.

        A prefix with nothing under it (or not there at all) yields nothing; uploads
        in progress are skipped.
        """

    def sizes(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """Every key under ``prefix`` (as `list`) with its size in bytes; -1 when unknown.

        This default knows no sizes; backends override it with the same listing as
        `list`, which carries them.
        """
        return ((key, -1) for key in self.list(prefix))

    def folders(self, prefix: str) -> builtins.list[str]:
        """The names of the folders directly under the folder ``prefix`` that hold objects.

        An absent ``prefix`` has none. This default lists every key below ``prefix``;
        backends override it with one request (a listing with a delimiter).
        """
        head = prefix.rstrip("/") + "/" if prefix else ""
        found = {
            key[len(head) :].split("/", 1)[0]
            for key in self.list(prefix)
            if "/" in key[len(head) :]
        }
        return sorted(found)

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object under ``key``; idempotent (a missing key is no error).

        Raises `ReadOnlyError` on a read-only remote.
        """

    def get_bytes(self, key: str) -> bytes:
        """The bytes stored under ``key``, for an object small enough to hold in memory.

        Raises `gitexp.errors.NotFoundError` when there is no such object; the bytes are
        not checked here (the caller verifies them). This default goes through a
        temporary file; backends override it with a direct read.
        """
        with tempfile.TemporaryDirectory(prefix=TMP_MARK) as folder:
            path = Path(folder) / "object"
            self.get(key, path)
            return path.read_bytes()

    def put_bytes(self, data: bytes, key: str) -> None:
        """Store ``data`` under ``key``: atomic and idempotent, like `put`.

        ``data`` may be any bytes-like object (a pack of chunks is a view of a file).

        This default goes through a temporary file; backends override it.
        """
        with tempfile.TemporaryDirectory(prefix=TMP_MARK) as folder:
            path = Path(folder) / "object"
            path.write_bytes(data)
            self.put(path, key)

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """The bytes ``[start, end)`` of the object under ``key``: one request where it can.

        Raises `gitexp.errors.NotFoundError` when there is no such object; a range past
        the end is cut short (the caller checks the length and the bytes). This
        default reads the whole object; backends override it with a ranged read.
        """
        return self.get_bytes(key)[start:end]

    def unwrap(self) -> Backend | None:
        """The backend this one wraps (a retry or record wrapper); None for a backend."""
        return None

    def identity(self) -> str:
        """What tells this storage location apart from every other one (no secrets).

        Records of what a remote holds are kept under it: two remotes that could hold
        different objects never share an identity (an S3 bucket's identity names its
        endpoint too).
        """
        return self.describe()

    def get_many(self, keys: Iterable[str], jobs: int) -> Iterator[Outcome[bytes]]:
        """Each key with its bytes (as `get_bytes`), in the order they arrive.

        A key that fails is reported with its error (`NotFoundError` when absent) and
        the others go on; a bug still raises. Up to ``jobs`` requests run at once;
        closing the iterator early stops what has not started.
        """
        return bounded(lambda key: (key, self.get_bytes(key)), keys, jobs, key=str)

    def put_many(self, items: Iterable[tuple[str, bytes]], jobs: int) -> Iterator[Outcome[None]]:
        """Store each ``(key, data)`` (as `put_bytes`); each key with None once stored.

        ``items`` is read lazily, a few more than ``jobs`` ahead, so a caller can read
        the bytes as they are needed. Failures are reported as in `get_many`.
        """

        def store(item: tuple[str, bytes]) -> tuple[str, None]:
            self.put_bytes(item[1], item[0])
            return item[0], None

        return bounded(store, items, jobs, key=lambda item: item[0])

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release connections; the backend is not used after this."""


def check_key(key: str) -> str:
    """``key`` if it is a safe relative key; a `StorageError` (a bug in the caller) otherwise."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StorageError(f"invalid storage key {key!r}")
    return key


def is_temporary(key: str) -> bool:
    """Whether ``key`` names an upload in progress rather than an object."""
    return TMP_MARK in key.rsplit("/", 1)[-1]


def bounded(
    work: Callable[[T], tuple[str, R]],
    items: Iterable[T],
    jobs: int,
    *,
    key: Callable[[T], str],
) -> Iterator[Outcome[R]]:
    """``work`` on each item by ``jobs`` threads, each taking the next item when free.

    With one job there is no thread: each item is done in the calling thread.
    Yields each outcome as it completes; a `Failure` is reported as the outcome of
    its item (named by ``key``) instead of stopping the rest. At most twice ``jobs``
    items are taken ahead of the outcomes read. ``items`` is read under a lock by
    whichever thread is free, so it may do I/O of its own; an exception from it (or
    a bug in ``work``) stops every thread and is raised here. Closing the iterator
    stops the threads after their current item and waits for them.
    """
    if jobs <= 1:
        yield from (_outcome(work, item, key) for item in items)
        return
    workers = _Workers(work, items, jobs, key)
    try:
        yield from workers.outcomes()
    finally:
        workers.stop()


_END = object()


@dataclass(frozen=True)
class _Crash:
    error: BaseException


class _Workers(Generic[T, R]):
    """The threads of `bounded`: they share one iterator of items and one queue of outcomes."""

    def __init__(
        self,
        work: Callable[[T], tuple[str, R]],
        items: Iterable[T],
        jobs: int,
        key: Callable[[T], str],
    ) -> None:
        self.work = work
        self.key = key
        self.source = iter(items)
        self.lock = threading.Lock()
        self.results: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.halt = threading.Event()
        self.slots = threading.Semaphore(2 * jobs)
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(jobs)]
        for thread in self.threads:
            thread.start()

    def _next(self) -> object:
        self.slots.acquire()
        with self.lock:
            return _END if self.halt.is_set() else next(self.source, _END)

    def _run(self) -> None:
        try:
            while (item := self._next()) is not _END:
                self.results.put(_outcome(self.work, item, self.key))  # type: ignore[arg-type]
        except BaseException as exc:
            self.halt.set()
            self.results.put(_Crash(exc))
        finally:
            self.results.put(_END)

    def outcomes(self) -> Iterator[Outcome[R]]:
        """Each outcome as it arrives, until every thread has stopped."""
        running = len(self.threads)
        while running:
            got = self.results.get()
            if got is _END:
                running -= 1
            elif isinstance(got, _Crash):
                raise got.error
            else:
                self.slots.release()
                yield got  # type: ignore[misc]

    def stop(self) -> None:
        """Let each thread finish its item, take no more, and wait for them."""
        self.halt.set()
        self.slots.release(len(self.threads))
        for thread in self.threads:
            thread.join()


def _outcome(work: Callable[[T], tuple[str, R]], item: T, key: Callable[[T], str]) -> Outcome[R]:
    try:
        return work(item)
    except (StorageError, NotFoundError) as exc:
        return key(item), exc
