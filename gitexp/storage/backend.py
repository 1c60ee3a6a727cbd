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
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

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

        This default goes through a temporary file; backends override it.
        """
        with tempfile.TemporaryDirectory(prefix=TMP_MARK) as folder:
            path = Path(folder) / "object"
            path.write_bytes(data)
            self.put(path, key)

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
    """``work`` on each item by ``jobs`` threads, at most twice that many in flight.

    Yields each outcome as it completes; a `Failure` is reported as the outcome
    of its item (named by ``key``) instead of stopping the rest. Closing the iterator
    cancels what has not started and waits for what has.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    pending: set[Future[Outcome[R]]] = set()
    try:
        for item in items:
            pending.add(pool.submit(_outcome, work, item, key))
            if len(pending) >= 2 * max(1, jobs):
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (future.result() for future in done)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            yield from (future.result() for future in done)
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)


def _outcome(
    work: Callable[[T], tuple[str, R]], item: T, key: Callable[[T], str]
) -> Outcome[R]:
    try:
        return work(item)
    except (StorageError, NotFoundError) as exc:
        return key(item), exc
