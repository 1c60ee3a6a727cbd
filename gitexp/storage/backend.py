"""The storage interface every remote backend implements, and its errors.

A storage remote is a flat namespace of write-once objects. Keys are relative,
``/``-separated paths; gitexp stores object ``oid`` under ``oid.relpath``
(``blake3/ab/cdef…``), the same layout as the local cache, so a remote is just a
folder of objects. Backends hold no policy: retries, timeouts and parallelism are
wrappers and callers around them (see `gitexp.storage.retry`, `gitexp.storage.transfer`).
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from pathlib import Path

from gitexp.errors import StorageError

TMP_MARK = ".gitexp-tmp-"
"""Part of the name of an upload in progress; `Backend.list` never reports such keys."""


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
