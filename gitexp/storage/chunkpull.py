"""Pulling a big file that a layout-2 remote holds as chunks: fetched, verified, reassembled.

The chunk list names the chunks in file order; the packs' indexes say where each
lies, so the chunks come in the same coalesced ranged reads as small objects
(`gitexp.storage.unpacking`). Each chunk is hashed before it is written into a
temporary file at every offset where the file holds it; the whole file is hashed
again before it enters the cache. A chunk list or chunk that fails is refused by
name and nothing enters the cache.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Literal

from gitexp.core.hashing import Oid
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Failure, bounded
from gitexp.storage.chunks import chunk_list_key, parse_chunk_list
from gitexp.storage.packs import PackMap
from gitexp.storage.transfer import LocalObjects, TransferResult, closing, hash_file
from gitexp.storage.unpacking import Span, spans

Outcome = Literal["stored", "corrupt", "missing"]


def download_chunked(
    objects: LocalObjects,
    backend: Backend,
    oid: Oid,
    listing: bytes,
    packs: PackMap,
    tmp_dir: Path,
    jobs: int,
    result: TransferResult,
) -> Outcome:
    """Rebuild the file ``oid`` from its chunk list ``listing`` into the cache.

    Damaged chunk lists and packs go to ``result.damaged``; the outcome says whether
    the file was stored, refused (corrupt) or could not be found whole (missing).
    Raises `StorageError` when the remote fails.
    """
    chunks = parse_chunk_list(listing)
    if chunks is None:
        result.damaged.append(chunk_list_key(oid))
        return "corrupt"
    where: dict[Oid, list[int]] = {}
    offset = 0
    for chunk, length in chunks:
        where.setdefault(chunk, []).append(offset)
        offset += length
    if any(chunk not in packs.objects for chunk in where):
        return "missing"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-pull-", dir=tmp_dir)
    try:
        os.ftruncate(fd, offset)
        todo = spans((chunk, packs.objects[chunk]) for chunk in where)
        outcome = _fill(fd, backend, todo, where, jobs, result)
        os.close(fd)
        fd = -1
        if outcome == "stored":
            if hash_file(name) != oid.hex:
                result.damaged.append(chunk_list_key(oid))
                return "corrupt"
            objects.adopt_verified(name, oid)
        return outcome
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _fill(
    fd: int,
    backend: Backend,
    todo: list[Span],
    where: dict[Oid, list[int]],
    jobs: int,
    result: TransferResult,
) -> Outcome:
    """Fetch every span, writing each verified chunk at its offsets in ``fd``.

    Each worker fetches a span, verifies its chunks and writes them, so the network
    reads of some spans overlap the hashing and writing of others; a span's bytes
    live only while its worker handles them.
    """

    def fetch(span: Span) -> tuple[str, bool]:
        data = memoryview(backend.get_range(span.pack, span.start, span.end))
        return span.pack, _write_span(fd, span, data, where)

    outcome: Outcome = "stored"
    with closing(bounded(fetch, todo, max(jobs, 1), key=lambda s: s.pack)) as fetched:
        for key, got in fetched:
            if isinstance(got, NotFoundError):
                return "missing"
            if isinstance(got, Failure):
                raise got
            if not got:
                if key not in result.damaged:
                    result.damaged.append(key)
                outcome = "corrupt"
    return outcome


def _write_span(fd: int, span: Span, data: memoryview, where: dict[Oid, list[int]]) -> bool:
    """Verify each chunk of ``span`` in ``data`` and write it where the file holds it.

    Chunks that lie one after another both in the pack and in the file (the usual
    case: a push packs a file's new chunks in order) go out in one write. False if
    any chunk's bytes do not match its id (those are not written).
    """
    from blake3 import blake3

    good = True
    run_at, run_from, run_to = -1, 0, 0  # a run of file bytes [run_at, …) = data[run_from:run_to]
    for chunk, loc in span.objects:
        begin = loc.offset - span.start
        blob = data[begin : begin + loc.size]
        if len(blob) != loc.size or blake3(blob).hexdigest() != chunk.hex:
            good = False
            continue
        offsets = where[chunk]
        if run_at >= 0 and begin == run_to and run_at + run_to - run_from in offsets:
            run_to += loc.size
            rest = [at for at in offsets if at != run_at + run_to - run_from - loc.size]
        else:
            if run_at >= 0:
                os.pwrite(fd, data[run_from:run_to], run_at)
            run_at, run_from, run_to = offsets[0], begin, begin + loc.size
            rest = offsets[1:]
        for at in rest:
            os.pwrite(fd, blob, at)
    if run_at >= 0:
        os.pwrite(fd, data[run_from:run_to], run_at)
    return good
