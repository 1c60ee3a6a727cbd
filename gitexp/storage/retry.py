"""A wrapper that retries a backend's transient failures a bounded number of times.

Only `TransientError` is retried (a refused connection, a timeout, a 5xx answer),
with exponential backoff; after the last attempt the error says how often it was
tried and what to check, so an unreachable endpoint fails in seconds, never hangs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from gitexp.errors import StorageError
from gitexp.storage.backend import Backend, TransientError

T = TypeVar("T")


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
                    raise StorageError(
                        f"{exc.message} (tried {self.attempts} times)",
                        hint="check that the endpoint is right and reachable, then run the "
                        "same command again: it resumes where it stopped",
                    ) from exc
            self.sleep(delay)
            delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")  # pragma: no cover

    def describe(self) -> str:
        """See `Backend.describe`."""
        return self.inner.describe()

    def exists(self, key: str) -> bool:
        """See `Backend.exists`."""
        return self._retry(lambda: self.inner.exists(key))

    def get(self, key: str, dest: Path) -> None:
        """See `Backend.get`."""
        self._retry(lambda: self.inner.get(key, dest))

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        self._retry(lambda: self.inner.put(src, key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """See `Backend.list`."""
        return iter(self._retry(lambda: list(self.inner.list(prefix))))

    def delete(self, key: str) -> None:
        """See `Backend.delete`."""
        self._retry(lambda: self.inner.delete(key))

    def close(self) -> None:
        """See `Backend.close`."""
        self.inner.close()
