"""Bounded retries around a backend, and secrets kept out of every message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gitexp.core.remotes import RemoteConfig, redact_url, resolve_remote, scrub
from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import Backend, TransientError
from gitexp.storage.memory import MemoryBackend
from gitexp.storage.retry import RetryingBackend


class Flaky(Backend):
    """A memory backend whose calls fail ``failures`` times before they work."""

    def __init__(self, failures: int) -> None:
        self.inner = MemoryBackend()
        self.failures = failures
        self.calls = 0

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise TransientError("storage remote memory:// did not answer (connection refused)")

    def describe(self) -> str:
        return "memory://"

    def exists(self, key: str) -> bool:
        self._maybe_fail()
        return self.inner.exists(key)

    def get(self, key: str, dest: Path) -> None:
        self._maybe_fail()
        self.inner.get(key, dest)

    def put(self, src: Path, key: str) -> None:
        self._maybe_fail()
        self.inner.put(src, key)

    def list(self, prefix: str = "") -> Iterator[str]:
        self._maybe_fail()
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self._maybe_fail()
        self.inner.delete(key)


def test_transient_failures_are_retried_with_backoff(tmp_path: Path) -> None:
    waits: list[float] = []
    flaky = Flaky(2)
    backend = RetryingBackend(flaky, attempts=3, backoff=0.1, sleep=waits.append)
    src = tmp_path / "x"
    src.write_bytes(b"data")
    backend.put(src, "blake3/ab/cd")
    assert flaky.calls == 3 and waits == [0.1, 0.2]
    assert backend.exists("blake3/ab/cd")


def test_retries_are_bounded_and_say_so(tmp_path: Path) -> None:
    backend = RetryingBackend(Flaky(10), attempts=3, sleep=lambda s: None)
    with pytest.raises(StorageError, match=r"tried 3 times") as info:
        backend.exists("blake3/ab/cd")
    assert "reachable" in (info.value.hint or "")


def test_other_errors_are_not_retried(tmp_path: Path) -> None:
    flaky = Flaky(0)
    backend = RetryingBackend(flaky, attempts=5, sleep=lambda s: None)
    with pytest.raises(NotFoundError):
        backend.get("blake3/ab/cd", tmp_path / "out")
    assert flaky.calls == 1


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pa55word@host/x", "https://user:***@host/x"),
        ("https://acct.blob/x?sv=1&sig=abcdef", "https://acct.blob/x?sv=***&sig=***"),
        ("s3://bucket/prefix", "s3://bucket/prefix"),
        ("../relative/path", "../relative/path"),
    ],
)
def test_urls_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_secret_values_are_scrubbed_from_text() -> None:
    remote = RemoteConfig("r", "ssh://me:topsecret@host/x", {"key": "AKIAKEY123", "region": "eu"})
    text = "denied for AKIAKEY123 with topsecret in eu"
    assert scrub(text, remote.secrets()) == "denied for *** with *** in eu"


def test_local_settings_merge_over_shared_ones() -> None:
    shared = {"s": {"url": "s3://b/p", "endpoint_url": "http://a"}}
    local = {"s": {"endpoint_url": "http://b", "secret": "x"}}
    remote = resolve_remote(None, "s", shared, local)
    assert remote.url == "s3://b/p"
    assert remote.options == {"endpoint_url": "http://b", "secret": "x"}
