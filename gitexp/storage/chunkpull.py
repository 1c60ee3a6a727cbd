"""Pulling a big file that a layout-2 remote holds as chunks: fetched, verified, reassembled.

The chunk list names the chunks in file order; the packs' indexes say where each
lies, so the chunks come in the same coalesced ranged reads as small objects
(`gitexp.storage.unpacking`), in the order of the file, and each is written into a
temporary file at every offset where the file holds it. The whole file is hashed as
it grows: whenever every chunk up to some point is written, the bytes up to there
are read back (from the page cache, while other reads are still on the network) and
fed to the file's hash. Only a file whose hash matches its id enters the cache, so
every chunk in it is verified with it, at the cost of one hash of the file's bytes.
When it does not match, each chunk is hashed on its own to name the pack at fault
(or, if every chunk is right, the chunk list); nothing enters the cache.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from gitexp.core.hashing import Oid
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Failure, bounded
from gitexp.storage.chunks import chunk_list_key, parse_chunk_list
from gitexp.storage.packs import PackMap
from gitexp.storage.transfer import HASH_BUFFER, LocalObjects, TransferResult, closing, hash_file
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
    if any(chunk not in packs.objects for chunk, _ in chunks):
        return "missing"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-pull-", dir=tmp_dir)
    try:
        whole = _Whole(fd, chunks)
        os.ftruncate(fd, whole.size)
        todo = spans((chunk, packs.objects[chunk]) for chunk in whole.places)
        todo.sort(key=lambda span: min(whole.places[c][0] for c, _ in span.objects))
        outcome = _fill(whole, backend, todo, jobs, result)
        if outcome == "stored":
            if whole.hexdigest(name) != oid.hex:
                blamed = _blame(fd, whole, packs) or [chunk_list_key(oid)]
                result.damaged.extend(k for k in blamed if k not in result.damaged)
                return "corrupt"
            os.close(fd)
            fd = -1
            objects.adopt_verified(name, oid)
        return outcome
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _blame(fd: int, whole: _Whole, packs: PackMap) -> list[str]:
    """The packs holding a chunk whose bytes, as written, do not match its id."""
    from blake3 import blake3

    bad = set()
    for chunk, offsets in whole.places.items():
        where = packs.objects[chunk]
        if blake3(os.pread(fd, where.size, offsets[0])).hexdigest() != chunk.hex:
            bad.add(where.pack)
    return sorted(bad)


class _Whole:
    """The temporary file being filled, and its hash, fed in file order as chunks land."""

    def __init__(self, fd: int, chunks: list[tuple[Oid, int]]) -> None:
        from blake3 import blake3

        self.fd = fd
        self.places: dict[Oid, list[int]] = {}
        """Each chunk's offsets in the file."""
        self._index: dict[int, int] = {}
        self._ends: list[int] = []
        offset = 0
        for number, (chunk, length) in enumerate(chunks):
            self.places.setdefault(chunk, []).append(offset)
            self._index[offset] = number
            offset += length
            self._ends.append(offset)
        self.size = offset
        self._done = bytearray(len(chunks))
        self._next = 0
        self._hashed = 0
        self._hasher: Any = blake3(max_threads=blake3.AUTO)

    def written(self, offsets: list[int]) -> None:
        """The chunks at ``offsets`` are written: hash what is whole from the start on."""
        for offset in offsets:
            self._done[self._index[offset]] = 1
        while self._next < len(self._ends) and self._done[self._next]:
            self._next += 1
        upto = self._ends[self._next - 1] if self._next else 0
        while self._hashed < upto:
            data = os.pread(self.fd, min(HASH_BUFFER, upto - self._hashed), self._hashed)
            if not data:
                break
            self._hasher.update(data)
            self._hashed += len(data)

    def hexdigest(self, name: str) -> str:
        """The file's hex BLAKE3 (hashed again from ``name`` if the stream fell short)."""
        if self._hashed == self.size:
            return str(self._hasher.hexdigest())
        return hash_file(name)


def _fill(
    whole: _Whole,
    backend: Backend,
    todo: list[Span],
    jobs: int,
    result: TransferResult,
) -> Outcome:
    """Fetch every span, writing each verified chunk at its offsets in the file.

    Each worker fetches a span and writes its chunks, so the network reads of some
    spans overlap the writing of others; a span's bytes live only while its worker
    handles them. The reading thread feeds the file's hash as its beginning fills
    up. A span cut short is damage of its pack.
    """

    def fetch(span: Span) -> tuple[str, tuple[bool, list[int]]]:
        data = memoryview(backend.get_range(span.pack, span.start, span.end))
        return span.pack, _write_span(whole.fd, span, data, whole.places)

    outcome: Outcome = "stored"
    with closing(bounded(fetch, todo, max(jobs, 1), key=lambda s: s.pack)) as fetched:
        for key, got in fetched:
            if isinstance(got, NotFoundError):
                return "missing"
            if isinstance(got, Failure):
                raise got
            good, offsets = got
            if not good:
                if key not in result.damaged:
                    result.damaged.append(key)
                outcome = "corrupt"
            elif outcome == "stored":
                whole.written(offsets)
    return outcome


def _write_span(
    fd: int, span: Span, data: memoryview, where: dict[Oid, list[int]]
) -> tuple[bool, list[int]]:
    """Write each chunk of ``span`` (its bytes in ``data``) where the file holds it.

    Chunks that lie one after another both in the pack and in the file (the usual
    case: a push packs a file's new chunks in order) go out in one write. Returns
    False if the read came back short, and the file offsets written. The chunks are
    verified with the whole file (see the module docstring).
    """
    if len(data) != span.end - span.start:
        return False, []
    written: list[int] = []
    run_at, run_from, run_to = -1, 0, 0  # a run of file bytes [run_at, …) = data[run_from:run_to]
    for chunk, loc in span.objects:
        begin = loc.offset - span.start
        offsets = where[chunk]
        written.extend(offsets)
        follows = run_at + run_to - run_from
        if run_at >= 0 and begin == run_to and follows in offsets:
            run_to += loc.size
            rest = [at for at in offsets if at != follows]
        else:
            if run_at >= 0:
                os.pwrite(fd, data[run_from:run_to], run_at)
            run_at, run_from, run_to = offsets[0], begin, begin + loc.size
            rest = offsets[1:]
        for at in rest:
            os.pwrite(fd, data[begin : begin + loc.size], at)
    if run_at >= 0:
        os.pwrite(fd, data[run_from:run_to], run_at)
    return True, written
