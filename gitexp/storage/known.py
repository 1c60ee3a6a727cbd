"""What a storage remote is known to hold, remembered between transfers (format version 1).

`KnownBackend` wraps a backend, as `gitexp.storage.retry` does, and keeps the record
up to date from what passes through it: an object stored, or downloaded, is held;
one found missing is not. Transfers ask the wrapper (`record_of`) instead of being
handed the record, and closing the backend saves it.

A push that finds every object it needs in this record asks the remote nothing but a
few spot checks, so a second push with nothing new costs no listing at all. The
record is a hint about the remote, never proof about data: it only ever spares an
upload, and every object a pull downloads is still hashed before it is used.

It can go stale when objects vanish from the remote behind gitexp's back (a bucket
emptied, a folder deleted). Spot checks catch that: the push asks the remote about a
random sample of the objects the record vouches for (and about every directory
manifest among them, which a push uploads only after the files it lists) and, if one
is missing, forgets the whole record and asks the remote about everything. A pull
that finds an object missing drops it from the record too.

One file per remote, ``<folder>/<sha256 of the remote's identity>.v1``: a header line
then one object hex per line. A file that is damaged, or of another version, is read
as empty (the next push lists the remote, as if there were no record). Writes are
atomic (temporary file, then rename); two pushes at once may lose each other's
additions, which costs only a listing later.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Outcome

T = TypeVar("T")
VERSION = 1
_HEADER = f"gitexp remote objects {VERSION} {ALGORITHM}\n"


class KnownObjects:
    """The objects one storage remote is known to hold (see the module docstring)."""

    def __init__(self, path: Path | None, hexes: set[str] | None = None) -> None:
        self.path = path
        self._hexes = hexes if hexes is not None else set()
        self._changed = False

    @classmethod
    def load(cls, folder: Path, identity: str) -> KnownObjects:
        """The record of the remote with this identity (empty if there is none yet)."""
        name = hashlib.sha256(identity.encode()).hexdigest()[:40]
        path = folder / f"{name}.v{VERSION}"
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return cls(path)
        if not text.startswith(_HEADER) or not text.endswith("\n"):
            return cls(path)
        hexes = set(text[len(_HEADER) :].split())
        if any(len(h) != 64 for h in hexes):
            return cls(path)
        return cls(path, hexes)

    @classmethod
    def nowhere(cls) -> KnownObjects:
        """An empty record that is never saved (a remote whose records are not kept)."""
        return cls(None)

    def __len__(self) -> int:
        return len(self._hexes)

    def __contains__(self, oid: Oid) -> bool:
        return oid.hex in self._hexes

    def unknown(self, oids: Iterable[Oid]) -> set[Oid]:
        """Those of ``oids`` this record does not vouch for."""
        hexes = self._hexes
        return {oid for oid in oids if oid.hex not in hexes}

    def add(self, oids: Iterable[Oid]) -> None:
        """Note that the remote holds these objects (seen there, or just stored)."""
        before = len(self._hexes)
        self._hexes.update(oid.hex for oid in oids)
        self._changed |= len(self._hexes) != before

    def discard(self, oids: Iterable[Oid]) -> None:
        """Note that the remote lacks these objects."""
        before = len(self._hexes)
        self._hexes.difference_update(oid.hex for oid in oids)
        self._changed |= len(self._hexes) != before

    def clear(self) -> None:
        """Forget everything: the record turned out to be stale."""
        self._changed |= bool(self._hexes)
        self._hexes = set()

    def save(self) -> None:
        """Write the record if it changed (atomic; failures to write are ignored)."""
        if self.path is None or not self._changed:
            return
        body = _HEADER + "".join(f"{h}\n" for h in sorted(self._hexes))
        folder = self.path.parent
        tmp = folder / f".tmp-{os.getpid()}-{self.path.name}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(body, encoding="ascii")
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        self._changed = False


class KnownBackend(Backend):
    """``inner``, noting in ``record`` each object seen to be on it or missing from it.

    Only keys of loose objects (``blake3/…``) are noted; others pass through. A put
    that succeeds, a read that returns bytes (verified or not: they are there) and
    an existence check saying yes add the object; a read or check finding it absent
    discards it. `close` saves the record.
    """

    def __init__(self, inner: Backend, record: KnownObjects) -> None:
        self.inner = inner
        self.record = record
        self.read_only = inner.read_only
        self.default_jobs = inner.default_jobs

    def unwrap(self) -> Backend:
        """The backend this one wraps."""
        return self.inner

    def _note(self, key: str, there: bool) -> None:
        oid = oid_from_relpath(key)
        if oid is not None:
            (self.record.add if there else self.record.discard)((oid,))

    def describe(self) -> str:
        """See `Backend.describe`."""
        return self.inner.describe()

    def identity(self) -> str:
        """See `Backend.identity`."""
        return self.inner.identity()

    def exists(self, key: str) -> bool:
        """See `Backend.exists`."""
        there = self.inner.exists(key)
        self._note(key, there)
        return there

    def get(self, key: str, dest: Path) -> None:
        """See `Backend.get`."""
        self._read(key, lambda: self.inner.get(key, dest))

    def get_bytes(self, key: str) -> bytes:
        """See `Backend.get_bytes`."""
        return self._read(key, lambda: self.inner.get_bytes(key))

    def get_range(self, key: str, start: int, end: int) -> bytes:
        """See `Backend.get_range`."""
        return self.inner.get_range(key, start, end)

    def _read(self, key: str, call: Callable[[], T]) -> T:
        try:
            got = call()
        except NotFoundError:
            self._note(key, False)
            raise
        self._note(key, True)
        return got

    def put(self, src: Path, key: str) -> None:
        """See `Backend.put`."""
        self.inner.put(src, key)
        self._note(key, True)

    def put_bytes(self, data: bytes, key: str) -> None:
        """See `Backend.put_bytes`."""
        self.inner.put_bytes(data, key)
        self._note(key, True)

    def list(self, prefix: str = "") -> Iterator[str]:
        """See `Backend.list`."""
        return self.inner.list(prefix)

    def sizes(self, prefix: str = "") -> Iterator[tuple[str, int]]:
        """See `Backend.sizes`."""
        return self.inner.sizes(prefix)

    def folders(self, prefix: str) -> builtins.list[str]:
        """See `Backend.folders`."""
        return self.inner.folders(prefix)

    def delete(self, key: str) -> None:
        """See `Backend.delete`."""
        self.inner.delete(key)
        self._note(key, False)

    def get_many(self, keys: Iterable[str], jobs: int) -> Iterator[Outcome[bytes]]:
        """See `Backend.get_many`."""
        outcomes = self.inner.get_many(keys, jobs)
        try:
            for key, outcome in outcomes:
                if isinstance(outcome, (bytes, NotFoundError)):
                    self._note(key, isinstance(outcome, bytes))
                yield key, outcome
        finally:
            _close(outcomes)

    def put_many(self, items: Iterable[tuple[str, bytes]], jobs: int) -> Iterator[Outcome[None]]:
        """See `Backend.put_many`."""
        outcomes = self.inner.put_many(items, jobs)
        try:
            for key, outcome in outcomes:
                if outcome is None:
                    self._note(key, True)
                yield key, outcome
        finally:
            _close(outcomes)

    def close(self) -> None:
        """Save the record, then close ``inner``."""
        try:
            self.record.save()
        finally:
            self.inner.close()


def _close(outcomes: Iterator[object]) -> None:
    closer = getattr(outcomes, "close", None)
    if closer is not None:
        closer()


def record_of(backend: Backend) -> KnownObjects:
    """The record kept by the `KnownBackend` among ``backend``'s wrappers.

    A backend with none gets an empty record that is never saved, so callers need
    not ask whether records are kept.
    """
    layer: Backend | None = backend
    while layer is not None:
        if isinstance(layer, KnownBackend):
            return layer.record
        layer = layer.unwrap()
    return KnownObjects.nowhere()
