"""Moving sets of objects between the local cache and a storage remote.

`gitexp.storage.upload` pushes and `gitexp.storage.download` pulls; this module holds
what both share: progress, results, the size split.

Both directions are idempotent: push uploads only what the remote lacks, pull
downloads only what the cache lacks, so running either again after success moves
nothing. What the remote lacks is found in few round trips: from the record of what
it is known to hold (`gitexp.storage.known`, checked by a few spot checks), else a
listing per object folder (``blake3/ab/``) when there are many objects, existence
checks when there are few.

Small objects (up to `SMALL` bytes, the usual case by count) move in memory through
the backend's bulk calls: a push reads each from the cache in one read and checks
its hash on the way (a corrupt cache object is never uploaded); a pull hashes each
download in memory and, if it matches, writes it into the cache in one write. Bigger
objects move file by file, a few at a time.

Every downloaded object is hashed before it enters the cache: small ones in memory,
big ones in a temporary file in the cache's own temporary folder; only a match is
made read-only and renamed into place, so a killed pull leaves no partial or
unchecked object visible. The cache records each as verified, so checking it out
does not hash it again.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from gitexp.core.hashing import Oid
from gitexp.storage.backend import Outcome

SMALL = 1 << 20
"""Objects up to this size move in memory, many per bulk call; bigger ones one by one."""
HASH_BUFFER = 4 << 20
"""Bytes read at a time to verify a big object (hashed by all cores)."""
BIG_JOBS = 4
"""At most this many big objects move at once (each may use several connections)."""
_TICK = 0.1
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a transfer stands: objects and bytes done out of the totals."""

    done: int
    total: int
    bytes_done: int
    bytes_total: int


ProgressFn = Callable[[Progress], None]


class LocalObjects(Protocol):
    """What a transfer needs of the local cache (`gitexp.cache.objects.ObjectStore` fits)."""

    root: Path
    """The cache folder: object ``oid`` is at ``root / oid.relpath``."""

    def path(self, oid: Oid) -> Path:
        """Where ``oid`` lives in the cache."""

    def has(self, oid: Oid) -> bool:
        """Whether ``oid`` is in the cache."""

    def put_verified(self, oid: Oid, data: bytes) -> None:
        """Store ``data``, already hashed by the caller and found to be ``oid``."""

    def adopt_verified(self, tmp: str | os.PathLike[str], oid: Oid) -> None:
        """Move the temporary file ``tmp``, already hashed and found to be ``oid``, in."""


@dataclass
class TransferResult:
    """What a push or pull did.

    ``transferred``: objects moved now; ``present``: already on the receiving side;
    ``missing``: not on the sending side; ``corrupt``: refused because their bytes do
    not match their hash (pull only); ``damaged``: the remote's packs and indexes
    found damaged on the way, by key (pull only).
    """

    transferred: list[Oid] = field(default_factory=list)
    present: int = 0
    bytes: int = 0
    missing: list[Oid] = field(default_factory=list)
    corrupt: list[Oid] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)


class Meter:
    """Counts what moved and reports progress at most every `_TICK` seconds (and at the end)."""

    def __init__(self, progress: ProgressFn | None, total: int, bytes_total: int) -> None:
        self.progress = progress
        self.total = total
        self.bytes_total = bytes_total
        self.done = 0
        self.bytes = 0
        self._last = 0.0
        self._report(force=True)

    def step(self, size: int) -> None:
        """One object done, ``size`` bytes of it."""
        self.done += 1
        self.bytes += size
        self._report(force=self.done == self.total)

    def _report(self, *, force: bool) -> None:
        if self.progress is None:
            return
        now = time.monotonic()
        if force or now - self._last >= _TICK:
            self._last = now
            self.progress(Progress(self.done, self.total, self.bytes, self.bytes_total))


def split_by_size(
    oids: list[Oid], size_of: Callable[[Oid], int | None]
) -> tuple[list[Oid], list[Oid]]:
    """(small, big) by `SMALL`; an object of unknown size (None) is in neither."""
    small: list[Oid] = []
    big: list[Oid] = []
    for oid in oids:
        size = size_of(oid)
        if size is not None:
            (small if size <= SMALL else big).append(oid)
    return small, big


def key_of(oid: Oid) -> str:
    """The storage key of ``oid``."""
    return oid.relpath


def moved(result: TransferResult, meter: Meter, oid: Oid, size: int) -> None:
    """Count ``oid`` (``size`` bytes) as transferred."""
    result.transferred.append(oid)
    result.bytes += size
    meter.step(size)


@contextlib.contextmanager
def closing(outcomes: Iterator[Outcome[R]]) -> Iterator[Iterator[Outcome[R]]]:
    """Close a bulk call's outcomes however the block ends, stopping what is left."""
    try:
        yield outcomes
    finally:
        closer = getattr(outcomes, "close", None)
        if closer is not None:
            closer()


def hash_file(path: str) -> str:
    """The hex BLAKE3 of the file at ``path`` (all cores for a big one)."""
    from blake3 import blake3

    if os.stat(path).st_size < SMALL:
        with open(path, "rb") as handle:
            return str(blake3(handle.read()).hexdigest())
    # Read into one buffer rather than mapping the file: a mapping is faster (about
    # 0.2 s against 0.3 s a GiB, measured) but shows the whole object in the process's
    # memory, which a user watching a pull of a big model would rightly call a leak.
    hasher = blake3(max_threads=blake3.AUTO)
    buffer = bytearray(HASH_BUFFER)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as handle:
        while count := handle.readinto(buffer):
            hasher.update(view[:count])
    return str(hasher.hexdigest())
