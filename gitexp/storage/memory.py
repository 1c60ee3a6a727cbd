"""An in-memory storage remote: the reference backend, and a fast one for tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, check_key


class MemoryBackend(Backend):
    """Objects in a dict; gone when the process ends. ``url`` only names it in messages."""

    def __init__(self, url: str = "memory://") -> None:
        self.url = url
        self.objects: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        """See `Backend.describe`."""
        return self.url

    def exists(self, key: str) -> bool:
        """See `Backend.exists`."""
        return check_key(key) in self.objects

    def get(self, key: str, dest: Path) -> None:
        """See `Backend.get`."""
        try:
            data = self.objects[check_key(key)]
        except KeyError:
            raise NotFoundError(f"{key} is not on {self.url}") from None
        dest.write_bytes(data)

    def get_bytes(self, key: str) -> bytes:
        """See `Backend.get_bytes`."""
        try:
            return self.objects[check_key(key)]
        except KeyError:
            raise NotFoundError(f"{key} is not on {self.url}") from None

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        self.put_bytes(src.read_bytes(), key)

    def put_bytes(self, data: bytes, key: str) -> None:
        """See `Backend.put_bytes`."""
        with self._lock:
            self.objects[check_key(key)] = bytes(data)

    def list(self, prefix: str = "") -> Iterator[str]:
        """See `Backend.list`."""
        folder = prefix.rstrip("/") + "/" if prefix else ""
        with self._lock:
            keys = list(self.objects)
        return (k for k in keys if k.startswith(folder))

    def sizes(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """See `Backend.sizes`."""
        with self._lock:
            found = [(k, len(v)) for k, v in self.objects.items()]
        folder = prefix.rstrip("/") + "/" if prefix else ""
        return ((k, n) for k, n in found if k.startswith(folder))

    def delete(self, key: str) -> None:
        """See `Backend.delete`."""
        with self._lock:
            self.objects.pop(check_key(key), None)
