"""Moving sets of objects between the local cache and a storage remote.

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
import random
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import IntegrityError, NotFoundError
from gitexp.storage.backend import Backend, Failure, Outcome, bounded
from gitexp.storage.known import KnownObjects

SMALL = 1 << 20
"""Objects up to this size move in memory, many per bulk call; bigger ones one by one."""
HASH_BUFFER = 4 << 20
"""Bytes read at a time to verify a big object (hashed by all cores)."""
EXISTS_LIMIT = 64
"""Up to this many objects, ask the remote about each; above, list object folders."""
SPOT_CHECKS = 16
"""How many objects the record vouches for are checked on the remote before trusting it."""
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
    not match their hash (pull only).
    """

    transferred: list[Oid] = field(default_factory=list)
    present: int = 0
    bytes: int = 0
    missing: list[Oid] = field(default_factory=list)
    corrupt: list[Oid] = field(default_factory=list)


class _Meter:
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


def missing_on_remote(
    backend: Backend,
    oids: Collection[Oid],
    jobs: int,
    known: KnownObjects | None = None,
    always_check: Collection[Oid] = (),
) -> set[Oid]:
    """The objects of ``oids`` the remote does not have, in few round trips.

    With a record of what the remote holds, only the objects it does not vouch for
    are looked up, with a sample of those it does (and every one of ``always_check``
    it does) checked beside them; a failed check discards the record and the remote
    is asked about everything. The record learns what was found.
    """
    wanted = set(oids)
    if not wanted:
        return set()
    record = known if known is not None else KnownObjects.nowhere()
    unknown = record.unknown(wanted)
    vouched = wanted - unknown
    if vouched:
        checks = _sample(vouched, SPOT_CHECKS) | (vouched & set(always_check))
        if len(unknown | checks) <= EXISTS_LIMIT:
            absent = _absent(backend, unknown | checks, jobs)
            if not absent & checks:
                record.add(unknown - absent)
                return absent
        record.clear()
    absent = _absent(backend, wanted, jobs)
    record.discard(absent)
    record.add(wanted - absent)
    return absent


def _sample(oids: set[Oid], count: int) -> set[Oid]:
    if len(oids) <= count:
        return set(oids)
    return set(random.sample(sorted(oids), count))


def _absent(backend: Backend, oids: set[Oid], jobs: int) -> set[Oid]:
    """Ask about each object when there are few; when there are many, list their folders.

    One listing says which object folders the remote has at all, so an empty (or
    new) remote costs one request, not one per folder.
    """
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        if len(oids) <= EXISTS_LIMIT:
            answers = pool.map(lambda o: (o, backend.exists(o.relpath)), oids)
            return {oid for oid, there in answers if not there}
        there = set(backend.folders(ALGORITHM))
        folders = sorted({oid.hex[:2] for oid in oids} & there)
        present: set[Oid] = set()
        for keys in pool.map(lambda f: list(backend.list(f"{ALGORITHM}/{f}")), folders):
            present.update(o for o in map(oid_from_relpath, keys) if o is not None)
    return oids - present


def push(
    objects: LocalObjects,
    backend: Backend,
    groups: Sequence[Iterable[Oid]],
    *,
    jobs: int | None = None,
    sizes: Mapping[Oid, int] | None = None,
    known: KnownObjects | None = None,
    always_check: Collection[Oid] = (),
    progress: ProgressFn | None = None,
) -> TransferResult:
    """Upload every object of ``groups`` that the remote lacks, one group after another.

    A group starts only when the one before it is wholly on the remote: objects the
    local cache lacks are reported in ``missing`` (not uploaded), and the push stops
    after their group; the caller decides whether that is an error. ``sizes`` spares
    a stat per object. Raises `StorageError` when the remote fails (after the
    backend's retries) and `IntegrityError` for a corrupt cache object; what was
    uploaded stays uploaded (and is noted in ``known``).
    """
    jobs = jobs or backend.default_jobs
    parts = [set(group) for group in groups]
    wanted = set().union(*parts)
    record = known if known is not None else KnownObjects.nowhere()
    todo = missing_on_remote(backend, wanted, jobs, record, always_check)
    result = TransferResult(present=len(wanted) - len(todo))
    sized = dict(sizes or {})
    meter = _Meter(progress, len(todo), sum(sized.get(o, 0) for o in todo))
    for part in parts:
        batch = sorted(part & todo)
        small, big = _split(batch, lambda o: _local_size(objects, o, sized, result))
        _upload_small(objects, backend, small, jobs, meter, result, record, sized)
        _upload_big(objects, backend, big, jobs, meter, result, record, sized)
        if result.missing:
            break
    result.transferred.sort()
    result.missing.sort()
    return result


def _local_size(
    objects: LocalObjects, oid: Oid, sizes: dict[Oid, int], result: TransferResult
) -> int | None:
    """The object's size (from ``sizes``, else the cache); None, noted missing, if absent."""
    size = sizes.get(oid)
    if size is not None:
        return size
    try:
        sizes[oid] = size = os.stat(objects.path(oid)).st_size
    except FileNotFoundError:
        result.missing.append(oid)
        return None
    return size


def _split(oids: list[Oid], size_of: Callable[[Oid], int | None]) -> tuple[list[Oid], list[Oid]]:
    small: list[Oid] = []
    big: list[Oid] = []
    for oid in oids:
        size = size_of(oid)
        if size is not None:
            (small if size <= SMALL else big).append(oid)
    return small, big


def _upload_small(
    objects: LocalObjects,
    backend: Backend,
    oids: list[Oid],
    jobs: int,
    meter: _Meter,
    result: TransferResult,
    record: KnownObjects,
    sizes: Mapping[Oid, int],
) -> None:
    if not oids:
        return
    from blake3 import blake3

    root = f"{objects.root}/"

    def items() -> Iterator[tuple[str, bytes]]:
        for oid in oids:
            try:
                data = _read(root + oid.relpath)
            except FileNotFoundError:
                result.missing.append(oid)
                continue
            if blake3(data).hexdigest() != oid.hex:
                raise IntegrityError(
                    f"cache object {oid} is corrupt (its bytes hash differently); "
                    "nothing corrupt was pushed",
                    hint="run `gitexp fsck` to move it aside, then add or pull it again",
                )
            yield oid.relpath, data

    by_key = {oid.relpath: oid for oid in oids}
    with _closing(backend.put_many(items(), jobs)) as outcomes:
        for key, outcome in outcomes:
            if outcome is not None:
                raise outcome
            oid = by_key[key]
            record.add((oid,))
            _moved(result, meter, oid, sizes.get(oid, 0))


def _upload_big(
    objects: LocalObjects,
    backend: Backend,
    oids: list[Oid],
    jobs: int,
    meter: _Meter,
    result: TransferResult,
    record: KnownObjects,
    sizes: Mapping[Oid, int],
) -> None:
    def upload(oid: Oid) -> tuple[str, Oid | None]:
        path = objects.path(oid)
        if not path.is_file():
            return oid.relpath, None
        backend.put(path, oid.relpath)
        return oid.relpath, oid

    by_key = {oid.relpath: oid for oid in oids}
    with _closing(bounded(upload, oids, min(jobs, BIG_JOBS), key=_key_of)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, Failure):
                raise outcome
            if outcome is None:
                result.missing.append(by_key[key])
                continue
            record.add((outcome,))
            _moved(result, meter, outcome, sizes.get(outcome, 0))


def pull(
    objects: LocalObjects,
    backend: Backend,
    oids: Iterable[Oid],
    *,
    tmp_dir: Path,
    jobs: int | None = None,
    sizes: Mapping[Oid, int] | None = None,
    known: KnownObjects | None = None,
    progress: ProgressFn | None = None,
) -> TransferResult:
    """Download every object of ``oids`` that the cache lacks, verifying each.

    Objects the remote lacks go to ``missing`` and objects whose bytes do not match
    their hash go to ``corrupt``: neither enters the cache. Objects of unknown size
    (not in ``sizes``) move as files. Raises `StorageError` when the remote fails
    (after retries); what was verified and stored stays.
    """
    jobs = jobs or backend.default_jobs
    wanted = set(oids)
    todo = sorted(_not_cached(objects, wanted))
    result = TransferResult(present=len(wanted) - len(todo))
    sized = dict(sizes or {})
    record = known if known is not None else KnownObjects.nowhere()
    meter = _Meter(progress, len(todo), sum(sized.get(o, 0) for o in todo))
    small, big = _split(todo, lambda o: sized.get(o, SMALL + 1))
    try:
        _download_small(objects, backend, small, jobs, meter, result)
        _download_big(objects, backend, big, tmp_dir, jobs, meter, result, sized)
    finally:
        record.add(result.transferred)
        record.add(result.corrupt)
        record.discard(result.missing)
    result.transferred.sort()
    result.missing.sort()
    result.corrupt.sort()
    return result


def _download_small(
    objects: LocalObjects,
    backend: Backend,
    oids: list[Oid],
    jobs: int,
    meter: _Meter,
    result: TransferResult,
) -> None:
    if not oids:
        return
    from blake3 import blake3

    by_key = {oid.relpath: oid for oid in oids}
    with _closing(backend.get_many(list(by_key), jobs)) as outcomes:
        for key, outcome in outcomes:
            oid = by_key[key]
            if isinstance(outcome, NotFoundError):
                result.missing.append(oid)
            elif isinstance(outcome, Failure):
                raise outcome
            elif blake3(outcome).hexdigest() != oid.hex:
                result.corrupt.append(oid)
            else:
                objects.put_verified(oid, outcome)
                _moved(result, meter, oid, len(outcome))
                continue
            meter.step(0)


def _download_big(
    objects: LocalObjects,
    backend: Backend,
    oids: list[Oid],
    tmp_dir: Path,
    jobs: int,
    meter: _Meter,
    result: TransferResult,
    sizes: Mapping[Oid, int],
) -> None:
    if not oids:
        return
    tmp_dir.mkdir(parents=True, exist_ok=True)

    def download(oid: Oid) -> tuple[str, tuple[Oid, str]]:
        fd, name = tempfile.mkstemp(prefix=".tmp-pull-", dir=tmp_dir)
        os.close(fd)
        try:
            backend.get(oid.relpath, Path(name))
            if _hash_file(name) != oid.hex:
                return oid.relpath, (oid, "corrupt")
            objects.adopt_verified(name, oid)
            return oid.relpath, (oid, "stored")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    by_key = {oid.relpath: oid for oid in oids}
    with _closing(bounded(download, oids, min(jobs, BIG_JOBS), key=_key_of)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, NotFoundError):
                result.missing.append(by_key[key])
            elif isinstance(outcome, Failure):
                raise outcome
            elif outcome[1] == "corrupt":
                result.corrupt.append(outcome[0])
            else:
                _moved(result, meter, outcome[0], sizes.get(outcome[0], 0))
                continue
            meter.step(0)


def _key_of(oid: Oid) -> str:
    return oid.relpath


def _not_cached(objects: LocalObjects, oids: Iterable[Oid]) -> list[Oid]:
    """Those of ``oids`` the cache lacks (a stat each, without building path objects)."""
    root = f"{objects.root}/"
    absent = []
    for oid in oids:
        try:
            os.stat(root + oid.relpath)
        except (FileNotFoundError, NotADirectoryError):
            absent.append(oid)
    return absent


def _moved(result: TransferResult, meter: _Meter, oid: Oid, size: int) -> None:
    result.transferred.append(oid)
    result.bytes += size
    meter.step(size)


def _read(path: str) -> bytes:
    """A small file's bytes: one open, one read, one close."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, SMALL + 1):
            chunks.append(chunk)
            if len(chunk) <= SMALL:
                break
        return b"".join(chunks)
    finally:
        os.close(fd)


def _hash_file(path: str) -> str:
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


@contextlib.contextmanager
def _closing(outcomes: Iterator[Outcome[R]]) -> Iterator[Iterator[Outcome[R]]]:
    """Close a bulk call's outcomes however the block ends, stopping what is left."""
    try:
        yield outcomes
    finally:
        closer = getattr(outcomes, "close", None)
        if closer is not None:
            closer()
