"""A wrapper that retries a backend's transient failures a bounded number of times.

Only `TransientError` is retried (a refused connection, a timeout, a 5xx answer),
with exponential backoff; after the last attempt the error says how often it was
tried and what to check, so an unreachable endpoint fails in seconds, never hangs.

Bulk calls are retried per object, in rounds: the objects that failed are sent
again after a pause, together with those not yet sent. A round ends early when many
objects fail in a row with no success between them (the server looks gone), so a
dead endpoint costs a few rounds of ``jobs`` requests, not one attempt per object.
"""

from __future__ import annotations

import builtins
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from gitexp.errors import StorageError
from gitexp.storage.backend import Backend, Outcome, TransientError

T = TypeVar("T")
P = TypeVar("P")
R = TypeVar("R")
STREAK = 8
"""At least this many failures in a row (and at least ``jobs``) end a bulk round early."""


class RetryingBackend(Backend):
    """``inner`` with each call tried up to ``attempts`` times on transient errors."""

    def __init__(
        self,
        inner: Backend,
        attempts: int = 3,
        backoff: float = 0.2,
        max_backoff: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.read_only = inner.read_only
        self.default_jobs = inner.default_jobs

    def unwrap(self) -> Backend:
        """The backend this one wraps."""
        return self.inner

    def _retry(self, call: Callable[[], T]) -> T:
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except TransientError as exc:
                if attempt == self.attempts:
                    raise self._exhausted(exc) from exc
            self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    def _exhausted(self, exc: StorageError) -> StorageError:
        return StorageError(
            f"{exc.message} (tried {self.attempts} times)",
            hint="check that the endpoint is right and reachable, then run the "
            "same command again: it resumes where it stopped",
        )

    def describe(self) -> str:
        """See `Backend.describe`."""
        return self.inner.describe()

    def identity(self) -> str:
        """See `Backend.identity`."""
        return self.inner.identity()

    def exists(self, key: str) -> bool:
        """See `Backend.exists`."""
        return self._retry(lambda: self.inner.exists(key))

    def get(self, key: str, dest: Path) -> None:
        """See `Backend.get`."""
        self._retry(lambda: self.inner.get(key, dest))

    def get_bytes(self, key: str) -> bytes:
        """See `Backend.get_bytes`."""
        return self._retry(lambda: self.inner.get_bytes(key))

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """See `Backend.get_range`."""
        return self._retry(lambda: self.inner.get_range(key, start, end))

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        self._retry(lambda: self.inner.put(src, key))

    def put_bytes(self, data: bytes, key: str) -> None:
        """See `Backend.put_bytes`."""
        self._retry(lambda: self.inner.put_bytes(data, key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """See `Backend.list`."""
        return iter(self._retry(lambda: list(self.inner.list(prefix))))

    def sizes(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """See `Backend.sizes`."""
        return iter(self._retry(lambda: list(self.inner.sizes(prefix))))

    def folders(self, prefix: str) -> builtins.list[str]:
        """See `Backend.folders`."""
        return self._retry(lambda: self.inner.folders(prefix))

    def delete(self, key: str) -> None:
        """See `Backend.delete`."""
        self._retry(lambda: self.inner.delete(key))

    def get_many(self, keys: Iterable[str], jobs: int) -> Iterator[Outcome[bytes]]:
        """See `Backend.get_many`; each key is retried on its own."""

        def start(items: Iterable[tuple[str, None]]) -> Iterator[Outcome[bytes]]:
            return self.inner.get_many((key for key, _ in items), jobs)

        return self._bulk(start, ((key, None) for key in keys), jobs)

    def put_many(self, items: Iterable[tuple[str, bytes]], jobs: int) -> Iterator[Outcome[None]]:
        """See `Backend.put_many`; each object is retried on its own."""
        return self._bulk(lambda batch: self.inner.put_many(batch, jobs), items, jobs)

    def _bulk(
        self,
        start: Callable[[Iterable[tuple[str, P]]], Iterator[Outcome[R]]],
        items: Iterable[tuple[str, P]],
        jobs: int,
    ) -> Iterator[Outcome[R]]:
        """Rounds of ``start`` until every item has an outcome other than a transient error.

        An item that fails ``attempts`` times ends the whole call: its outcome is the
        error saying so, and nothing more is reported.
        """
        source = iter(items)
        again: list[tuple[str, P]] = []
        failures: dict[str, int] = {}
        delay = self.backoff
        while True:
            sent: dict[str, P] = {}
            retry: list[tuple[str, P]] = []
            streak = 0
            outcomes = start(_feed(again, source, sent))
            try:
                for key, outcome in outcomes:
                    payload = sent.pop(key)
                    if not isinstance(outcome, TransientError):
                        streak = 0
                        failures.pop(key, None)
                        yield key, outcome
                        continue
                    failures[key] = failures.get(key, 0) + 1
                    if failures[key] >= self.attempts:
                        yield key, self._exhausted(outcome)
                        return
                    retry.append((key, payload))
                    streak += 1
                    if streak >= max(STREAK, jobs):
                        break
            finally:
                closer = getattr(outcomes, "close", None)
                if closer is not None:
                    closer()
            again = retry + list(sent.items())
            if not again:
                return
            self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)

    def close(self) -> None:
        """See `Backend.close`."""
        self.inner.close()


def _feed(
    queued: list[tuple[str, P]], source: Iterator[tuple[str, P]], sent: dict[str, P]
) -> Iterator[tuple[str, P]]:
    """``queued`` then the rest of ``source``, noting in ``sent`` each item handed out."""
    for key, payload in itertools.chain(queued, source):
        sent[key] = payload
        yield key, payload
