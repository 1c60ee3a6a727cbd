"""Uploading objects the remote lacks, found in few round trips (see `gitexp.storage.transfer`).

What the remote lacks comes from the record of what it is known to hold (kept by a
`gitexp.storage.known.KnownBackend` around the backend, checked by a few spot
checks), else a listing per object folder (``blake3/ab/``) when there are many
objects, existence checks when few. A push reads each small object from the cache
in one read and checks its hash on the way, so a corrupt cache object is never
uploaded. On a layout-2 remote the objects its packs' indexes list are there too.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import IntegrityError
from gitexp.storage.backend import Backend, Failure, bounded
from gitexp.storage.chunkpush import (
    Chunked,
    Listed,
    Stamp,
    upload_chunked,
    upload_listed,
    with_chunk_lists,
)
from gitexp.storage.chunks import CHUNKED, chunk_list_key
from gitexp.storage.known import record_of
from gitexp.storage.layout import LOOSE, PACKED
from gitexp.storage.packing import cached_items, upload_packs
from gitexp.storage.packs import PACKABLE, Location, index_key, list_packs, read_pack_map
from gitexp.storage.sweep import protect
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
    sizes: Mapping[Oid, int]
    intact: Mapping[Oid, Stamp]
    listed: Callable[[Oid], Listed | None] | None = None


def missing_on_remote(
    backend: Backend,
    oids: Collection[Oid],
    jobs: int,
    always_check: Collection[Oid] = (),
) -> set[Oid]:
    """The objects of ``oids`` the remote does not have, in few round trips.

    With a record of what the remote holds (`record_of`), only the objects it does not vouch for
    are looked up, with a sample of those it does (and every one of ``always_check``
    it does) checked beside them; a failed check discards the record and the remote
    is asked about everything. The record learns what was found.
    """
    wanted = set(oids)
    if not wanted:
        return set()
    record = record_of(backend)
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
    always_check: Collection[Oid] = (),
    progress: ProgressFn | None = None,
    layout: int = LOOSE,
    intact: Mapping[Oid, Stamp] | None = None,
    listed: Callable[[Oid], Listed | None] | None = None,
) -> TransferResult:
    """Upload every object of ``groups`` that the remote lacks, one group after another.

    A group starts only when the one before it is wholly on the remote: objects the
    local cache lacks are reported in ``missing`` (not uploaded), and the push stops
    after their group; the caller decides whether that is an error. ``sizes`` spares
    a stat per object. On a `PACKED` remote, objects under `PACKABLE` bytes go into
    packs (`gitexp.storage.packing`), big files are chunked, and the rest stay loose.
    ``intact`` holds the stamps of cache objects whose bytes were found to match
    their id (the stat index's record): a big file whose stamp still matches is not
    hashed whole again when chunked. ``listed`` gives the local chunk list of a big
    file the cache keeps as chunks only (`upload_listed` sends its chunks as they
    are, on a layout-2 remote). Raises `StorageError`
    when the remote fails (after the backend's retries) and `IntegrityError` for a
    corrupt cache object; what was uploaded stays uploaded (and noted in the record).
    """
    jobs = jobs or backend.default_jobs
    parts = [set(group) for group in groups]
    wanted = set().union(*parts)
    result = TransferResult()
    sized = dict(sizes or {})
    chunked: Chunked | None = None  # big files are chunked on a layout-2 remote only
    if layout == PACKED:
        in_packs = read_pack_map(backend, list_packs(backend), jobs).objects
        protect(backend, _keys(wanted, in_packs))
        todo = missing_on_remote(backend, wanted - in_packs.keys(), jobs, always_check)
        chunked = _chunking(objects, backend, todo, set(in_packs), jobs, sized, result)
    else:
        protect(backend, (oid.relpath for oid in wanted))
        todo = missing_on_remote(backend, wanted, jobs, always_check)
    result.present = len(wanted) - len(todo)
    meter = Meter(progress, len(todo), sum(sized.get(o, 0) for o in todo))
    job = _Upload(objects, backend, jobs, meter, result, sized, intact or {}, listed)
    for part in parts:
        batch = sorted(part & todo)
        small, big = split_by_size(batch, lambda o: _local_size(objects, o, sized, result))
        if layout == PACKED:
            small = _upload_packed(job, small)
        _upload_small(job, small)
        if chunked is not None:
            big = _upload_chunked(job, big, chunked)
        _upload_big(job, big)
        if result.missing:
            break
    result.transferred.sort()
    result.missing = sorted(set(result.missing))  # a size looked up twice notes it twice
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


def _keys(wanted: set[Oid], in_packs: Mapping[Oid, Location]) -> Iterator[str]:
    """Every key the objects ``wanted`` may rely on: loose, chunk list, pack and index."""
    for oid in wanted:
        yield oid.relpath
        yield chunk_list_key(oid)
        where = in_packs.get(oid)
        if where is not None:
            yield where.pack
            yield index_key(where.pack)


def _chunking(
    objects: LocalObjects,
    backend: Backend,
    todo: set[Oid],
    in_packs: set[Oid],
    jobs: int,
    sizes: dict[Oid, int],
    result: TransferResult,
) -> Chunked:
    """How big files go to a layout-2 remote: as chunks.

    Files already there as chunk lists leave ``todo``.
    """
    big = [o for o in todo if (_local_size(objects, o, sizes, result) or 0) >= CHUNKED]
    todo -= with_chunk_lists(backend, big, jobs)
    return Chunked(in_packs)


def _upload_chunked(job: _Upload, oids: list[Oid], chunked: Chunked) -> list[Oid]:
    """Push those of ``oids`` of `CHUNKED` bytes or more as chunks; the others, to go loose."""
    rest = []
    for oid in oids:
        if job.sizes.get(oid, 0) < CHUNKED:
            rest.append(oid)
            continue
        try:
            sent = upload_chunked(
                job.objects, job.backend, oid, chunked, job.jobs, job.intact.get(oid)
            )
        except FileNotFoundError:
            found = job.listed(oid) if job.listed is not None else None
            if found is None:
                job.result.missing.append(oid)
                continue
            sent = upload_listed(job.backend, oid, found, chunked, job.jobs)
        moved(job.result, job.meter, oid, sent)
    return rest


def _upload_packed(job: _Upload, oids: list[Oid]) -> list[Oid]:
    """Pack those of ``oids`` under `PACKABLE` bytes; the others, to go loose."""
    packable = [oid for oid in oids if job.sizes.get(oid, PACKABLE) < PACKABLE]
    upload_packs(
        job.backend,
        cached_items(job.objects, packable, job.result.missing.append),
        job.jobs,
        lambda oid, size: moved(job.result, job.meter, oid, size),
    )
    chosen = set(packable)
    return [oid for oid in oids if oid not in chosen]


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
