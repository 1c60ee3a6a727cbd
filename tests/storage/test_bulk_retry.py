"""Bulk calls through the retry wrapper: each object retried on its own, and bounded."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest

from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import Backend, TransientError
from gitexp.storage.memory import MemoryBackend
from gitexp.storage.retry import STREAK, RetryingBackend

KEYS = [f"blake3/{i:02x}/" + f"{i:062x}" for i in range(40)]


class Flaky(MemoryBackend):
    """A memory backend where some keys fail a given number of times before they work."""

    def __init__(self, failing: dict[str, int]) -> None:
        super().__init__("memory://flaky")
        self.failing = dict(failing)
        self.calls: Counter[str] = Counter()
        self.guard = threading.Lock()

    def _maybe_fail(self, key: str) -> None:
        with self.guard:
            self.calls[key] += 1
            left = self.failing.get(key, 0)
            if left:
                self.failing[key] = left - 1
                raise TransientError(f"storage remote {self.url} did not answer ({key})")

    def get_bytes(self, key: str) -> bytes:
        self._maybe_fail(key)
        return super().get_bytes(key)

    def put_bytes(self, data: bytes, key: str) -> None:
        self._maybe_fail(key)
        super().put_bytes(data, key)


def wrap(inner: Backend, waits: list[float] | None = None) -> RetryingBackend:
    sleep = waits.append if waits is not None else (lambda s: None)
    return RetryingBackend(inner, attempts=3, backoff=0.1, sleep=sleep)


def test_a_key_that_fails_twice_is_retried_and_the_rest_go_on() -> None:
    flaky = Flaky({KEYS[3]: 2, KEYS[7]: 1})
    waits: list[float] = []
    done = dict(wrap(flaky, waits).put_many(((k, k.encode()) for k in KEYS), 4))
    assert done == dict.fromkeys(KEYS)
    assert flaky.calls[KEYS[3]] == 3 and flaky.calls[KEYS[7]] == 2
    assert flaky.calls[KEYS[0]] == 1
    assert waits == [0.1, 0.2]
    assert all(flaky.objects[k] == k.encode() for k in KEYS)


def test_a_key_that_keeps_failing_ends_the_call_saying_how_often() -> None:
    flaky = Flaky({KEYS[5]: 10})
    for key in KEYS:
        flaky.objects[key] = key.encode()
    outcomes = list(wrap(flaky).get_many(KEYS, 2))
    key, last = outcomes[-1]
    assert key == KEYS[5]
    assert isinstance(last, StorageError) and not isinstance(last, TransientError)
    assert "tried 3 times" in last.message and "reachable" in (last.hint or "")
    assert flaky.calls[KEYS[5]] == 3


def test_a_dead_server_ends_each_round_early() -> None:
    many = [f"blake3/aa/{i:062x}" for i in range(1000)]
    flaky = Flaky(dict.fromkeys(many, 100))
    outcomes = list(wrap(flaky).get_many(many, 2))
    assert len(outcomes) == 1 and "tried 3 times" in str(outcomes[0][1])
    # three rounds, each cut short after a streak of failures: far fewer than 3 x 1000
    assert sum(flaky.calls.values()) < 3 * (STREAK + 2 * 2) + 10


def test_not_found_is_an_outcome_not_a_retry() -> None:
    flaky = Flaky({})
    flaky.objects[KEYS[0]] = b"there"
    got = dict(wrap(flaky).get_many(KEYS[:2], 2))
    assert got[KEYS[0]] == b"there"
    assert isinstance(got[KEYS[1]], NotFoundError)
    assert flaky.calls[KEYS[1]] == 1


def test_default_bulk_calls_of_a_plain_backend(tmp_path: Path) -> None:
    class Plain(Backend):
        """Only the six basic calls: the bulk ones come from the base class."""

        def __init__(self) -> None:
            self.inner = MemoryBackend()

        def describe(self) -> str:
            return "memory://plain"

        def exists(self, key: str) -> bool:
            return self.inner.exists(key)

        def get(self, key: str, dest: Path) -> None:
            self.inner.get(key, dest)

        def put(self, src: Path, key: str) -> None:
            self.inner.put(src, key)

        def list(self, prefix: str = ""):  # type: ignore[no-untyped-def]
            return self.inner.list(prefix)

        def delete(self, key: str) -> None:
            self.inner.delete(key)

    plain = Plain()
    assert dict(plain.put_many(((k, k.encode()) for k in KEYS[:5]), 2)) == dict.fromkeys(KEYS[:5])
    got = dict(plain.get_many([*KEYS[:5], KEYS[9]], 2))
    assert isinstance(got.pop(KEYS[9]), NotFoundError)
    assert got == {k: k.encode() for k in KEYS[:5]}


@pytest.mark.parametrize("jobs", [1, 3])
def test_every_item_is_taken_once_when_all_is_well(jobs: int) -> None:
    flaky = Flaky({})
    taken: list[str] = []

    def items():  # type: ignore[no-untyped-def]
        for key in KEYS:
            taken.append(key)
            yield key, b"x"

    assert len(dict(wrap(flaky).put_many(items(), jobs))) == len(KEYS)
    assert sorted(taken) == sorted(KEYS)
