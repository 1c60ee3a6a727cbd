"""Pushing small objects into packs on a layout-2 remote (see `gitexp.storage.packs`).

Objects are read from the cache and hashed on the way (a corrupt cache object is
never uploaded), gathered into packs of about `PACK_TARGET` bytes, and each pack is
stored before its index: a reader never sees an index whose pack is not whole. An
object counts as pushed once its pack's index is stored. Packed objects are not
noted in the record of loose objects (`gitexp.storage.known`): the indexes are what
says a pack holds them, so a pack removed by remote gc is never vouched for.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from gitexp.core.hashing import Oid
from gitexp.errors import IntegrityError
from gitexp.storage.backend import Backend, Failure, bounded
from gitexp.storage.packs import PACK_TARGET, dump_index, index_key, keep_index, pack_key
from gitexp.storage.transfer import LocalObjects, closing

PACK_JOBS = 4
"""Packs uploaded at once: each is one big request."""
READ_JOBS = 4
"""Threads reading small objects from the cache for packs."""
READ_BATCH = 128
"""Objects each of those threads reads in one go."""
READ_AHEAD = 2 * READ_JOBS
"""Batches read ahead of the packing (each object is under 1 MiB: bounded memory)."""
READ_SIZE = 1 << 20
"""Bytes asked for per read of an object's file."""


@dataclass(frozen=True, slots=True)
class Pack:
    """A pack's bytes before it is named, and the objects in it, in order."""

    data: bytes | memoryview
    oids: tuple[Oid, ...]
    sizes: tuple[int, ...]


def _read_verified(path: str, oid: Oid) -> bytes | None:
    """The bytes of the cache file ``path``, checked against ``oid``; None if absent.

    Raises `IntegrityError` for a cache object whose bytes hash differently.
    """
    from blake3 import blake3

    try:
        fd = os.open(path, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        chunks = []
        while chunk := os.read(fd, READ_SIZE):
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if blake3(data).hexdigest() != oid.hex:
        raise IntegrityError(
            f"cache object {oid} is corrupt (its bytes hash differently); "
            "nothing corrupt was pushed",
            hint="run `gitexp fsck` to move it aside, then add or pull it again",
        )
    return data


def cached_items(
    objects: LocalObjects, oids: Iterable[Oid], missing: Callable[[Oid], None]
) -> Iterator[tuple[Oid, bytes]]:
    """Each of ``oids`` with its bytes, in order, read from the cache and verified.

    Read `READ_JOBS` batches at a time by threads (the reads release the GIL, so a
    push of many small files is not bound by one core's system calls), at most
    `READ_AHEAD` batches ahead of the caller, so memory stays bounded. ``missing``
    is called for each the cache lacks. Raises `IntegrityError` for a corrupt one.
    """
    root = f"{objects.root}/"

    def read(batch: list[Oid]) -> list[tuple[Oid, bytes | None]]:
        return [(oid, _read_verified(root + oid.relpath, oid)) for oid in batch]

    source = iter(oids)
    batches = iter(lambda: list(itertools.islice(source, READ_BATCH)), [])
    with ThreadPoolExecutor(max_workers=READ_JOBS) as pool:
        pending: deque[Future[list[tuple[Oid, bytes | None]]]] = deque()
        try:
            for batch in itertools.islice(batches, READ_AHEAD):
                pending.append(pool.submit(read, batch))
            while pending:
                found = pending.popleft().result()
                for batch in itertools.islice(batches, 1):
                    pending.append(pool.submit(read, batch))
                for oid, data in found:
                    if data is None:
                        missing(oid)
                    else:
                        yield oid, data
        finally:
            for future in pending:
                future.cancel()


def upload_packs(
    backend: Backend,
    items: Iterable[tuple[Oid, bytes]],
    jobs: int,
    stored: Callable[[Oid, int], None],
) -> None:
    """Pack ``items`` (in this order) and upload the packs, each before its index.

    ``stored`` is called for each object once its pack's index is on the remote.
    Raises `StorageError` when the remote fails (and whatever reading ``items``
    raises); packs already indexed stay.
    """

    def packs() -> Iterator[Pack]:
        batch: list[tuple[Oid, bytes]] = []
        size = 0
        for oid, data in items:
            batch.append((oid, data))
            size += len(data)
            if size >= PACK_TARGET:
                yield _filled(batch)
                batch, size = [], 0
        if batch:
            yield _filled(batch)

    upload_made(backend, packs(), jobs, stored)


def upload_made(
    backend: Backend, packs: Iterable[Pack], jobs: int, stored: Callable[[Oid, int], None]
) -> None:
    """Name, upload and index each of ``packs``, as `upload_packs` does.

    Each pack is named (the BLAKE3 of its bytes) and indexed by the thread that
    uploads it. There is one thread more than the uploads that run at once (up to
    `PACK_JOBS`, as many requests as a big loose object's parts in flight): the
    free one makes and names the next pack, reading ``packs``, and waits for an
    upload to end before it starts its own, so the uploads in flight never wait for
    the making, and the server never takes more at once than a loose object's parts
    (measured on an S3 server on loopback: five 16 MiB uploads at once cost it about
    10% more CPU per GiB than four).
    """
    uploads = max(1, min(jobs, PACK_JOBS))
    in_flight = threading.BoundedSemaphore(uploads)

    def upload(pack: Pack) -> tuple[str, Pack]:
        key, index = _named(pack)
        with in_flight:
            backend.put_bytes(pack.data, key)  # type: ignore[arg-type]  # any bytes-like
        backend.put_bytes(index, index_key(key))
        keep_index(backend, index_key(key), index)
        return key, pack

    with closing(bounded(upload, packs, uploads + 1, key=lambda p: p.oids[0].hex)) as done:
        for _key, outcome in done:
            if isinstance(outcome, Failure):
                raise outcome
            for oid, size in zip(outcome.oids, outcome.sizes, strict=True):
                stored(oid, size)


def _filled(items: list[tuple[Oid, bytes]]) -> Pack:
    data = b"".join(blob for _, blob in items)
    return Pack(data, tuple(oid for oid, _ in items), tuple(len(blob) for _, blob in items))


def _named(pack: Pack) -> tuple[str, bytes]:
    """The key of ``pack`` (the BLAKE3 of its bytes) and its index's bytes."""
    from blake3 import blake3

    # One thread: the hasher's own threads bought nothing on 2 busy cores (measured),
    # and the making of the next pack already runs beside this.
    hex_ = str(blake3(pack.data).hexdigest())
    return pack_key(hex_), dump_index(hex_, zip(pack.oids, pack.sizes, strict=True))
