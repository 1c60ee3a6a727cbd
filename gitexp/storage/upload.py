"""Uploading objects the remote lacks, found in few round trips (see `gitexp.storage.transfer`).

What the remote lacks comes from the record of what it is known to hold
(`gitexp.storage.known`, checked by a few spot checks), else a listing per object
folder (``blake3/ab/``) when there are many objects, existence checks when few. A
push reads each small object from the cache in one read and checks its hash on the
way, so a corrupt cache object is never uploaded.
"""

from __future__ import annotations

import os
import random
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import IntegrityError
from gitexp.storage.backend import Backend, Failure, bounded
from gitexp.storage.known import KnownObjects
from gitexp.storage.transfer import (
    BIG_JOBS,
    SMALL,
    LocalObjects,
    Meter,
    ProgressFn,
    TransferResult,
    closing,
    key_of,
    moved,
    split_by_size,
)

EXISTS_LIMIT = 64
"""Up to this many objects, ask the remote about each; above, list object folders."""
SPOT_CHECKS = 16
"""How many objects the record vouches for are checked on the remote before trusting it."""


@dataclass(frozen=True, slots=True)
class _Upload:
    """What every upload of one push shares."""

    objects: LocalObjects
    backend: Backend
    jobs: int
    meter: Meter
    result: TransferResult
    record: KnownObjects
    sizes: Mapping[Oid, int]


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
    meter = Meter(progress, len(todo), sum(sized.get(o, 0) for o in todo))
    job = _Upload(objects, backend, jobs, meter, result, record, sized)
    for part in parts:
        batch = sorted(part & todo)
        small, big = split_by_size(batch, lambda o: _local_size(objects, o, sized, result))
        _upload_small(job, small)
        _upload_big(job, big)
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


def _upload_small(job: _Upload, oids: list[Oid]) -> None:
    if not oids:
        return
    from blake3 import blake3

    result = job.result
    root = f"{job.objects.root}/"

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
    with closing(job.backend.put_many(items(), job.jobs)) as outcomes:
        for key, outcome in outcomes:
            if outcome is not None:
                raise outcome
            oid = by_key[key]
            job.record.add((oid,))
            moved(result, job.meter, oid, job.sizes.get(oid, 0))


def _upload_big(job: _Upload, oids: list[Oid]) -> None:
    def upload(oid: Oid) -> tuple[str, Oid | None]:
        path = job.objects.path(oid)
        if not path.is_file():
            return oid.relpath, None
        job.backend.put(path, oid.relpath)
        return oid.relpath, oid

    by_key = {oid.relpath: oid for oid in oids}
    with closing(bounded(upload, oids, min(job.jobs, BIG_JOBS), key=key_of)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, Failure):
                raise outcome
            if outcome is None:
                job.result.missing.append(by_key[key])
                continue
            job.record.add((outcome,))
            moved(job.result, job.meter, outcome, job.sizes.get(outcome, 0))


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
