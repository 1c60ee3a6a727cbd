"""Big files as content-defined chunks on a layout-2 remote: the cutting and the chunk list.

A file of `CHUNKED` bytes or more is cut with FastCDC (2020, from ``pyfastcdc``) into
chunks of about 64 KiB whose boundaries follow the content, so an edit moves only
the chunks around it. Each chunk is an object named by its own BLAKE3 and stored in
packs (`gitexp.storage.packs`); the file's chunk list, ``chunks/<first 2 hex>/<rest>``
named by the file's id, is UTF-8 JSON without spaces::

    {"version":1,"size":<file bytes>,"chunker":"fastcdc2020/49152/16384/262144",
     "chunks":[["<chunk hex>",<length>],…]}

with the chunks in file order. Concatenated, they are the file (``b3sum`` of the
result prints the file's id). The list is written after every chunk it names is
in an indexed pack. ``chunker`` names the cutting, for dedup only: a list cut
another way reads the same.
"""

from __future__ import annotations

import mmap
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitexp.core import chunklist
from gitexp.core.hashing import Oid

FOLDER = "chunks"
VERSION = chunklist.VERSION
CHUNKED = 16 << 20
"""Files of this many bytes or more are chunked."""
AVERAGE = 48 << 10
MINIMUM = 16 << 10
MAXIMUM = 256 << 10
"""FastCDC's settings: the chunks come out at about AVERAGE + MINIMUM (64 KiB) on average."""
CHUNKER = f"fastcdc2020/{AVERAGE}/{MINIMUM}/{MAXIMUM}"
SEGMENT = 32 << 20
"""A big file is cut in segments of this many bytes, several at once (see `cut_hashed`)."""
CUT_JOBS = 2
"""Segments cut at once: cutting and hashing take a core each; uploads need little."""
_HEX = frozenset("0123456789abcdef")


def chunk_list_key(oid: Oid) -> str:
    """The key of the chunk list of the file ``oid``."""
    return f"{FOLDER}/{oid.hex[:2]}/{oid.hex[2:]}"


def file_of(key: str) -> Oid | None:
    """The file whose chunk list is under ``key``; None for a key that names none."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != FOLDER or len(parts[1]) != 2 or len(parts[2]) != 62:
        return None
    hex_ = parts[1] + parts[2]
    return Oid(hex_) if set(hex_) <= _HEX else None


def chunker() -> Any:
    """A FastCDC cutter (``pyfastcdc``, a dependency: big files are never silently loose)."""
    from pyfastcdc import FastCDC

    return FastCDC(AVERAGE, min_size=MINIMUM, max_size=MAXIMUM)


def mapped(path: Path) -> memoryview:
    """A read-only view of the whole file at ``path`` (a mapping: nothing read yet).

    The mapping is unmapped once no view of it is held any more.
    """
    with open(path, "rb") as handle:
        return memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))


Piece = tuple[int, int, str]
"""A chunk of a file: its offset, its length and the hex of its BLAKE3."""


def cut_hashed(
    data: memoryview, jobs: int = CUT_JOBS, segment: int = SEGMENT
) -> Iterator[list[Piece]]:
    """The chunks of ``data``, hashed, in order and in runs: exactly those of one cut.

    ``data`` is cut in segments of ``segment`` bytes by ``jobs`` threads at once
    (FastCDC and BLAKE3 both let go of the GIL), each segment as if a chunk began
    at its start. A chunk's end depends only on where it starts, so once the cut
    of the file as a whole reaches a chunk start of a segment's own cut, the two
    agree from there on: the chunks before that point (one or two, most often)
    are cut again one by one from where the chunk before them ended. The outcome
    is the sequential cut whatever the data; a segment whose cut never meets the
    file's (a pathological file) is cut again whole, costing time, not exactness.
    At most ``2 * jobs`` segments are cut ahead of the caller.
    """
    from concurrent.futures import ThreadPoolExecutor

    size = len(data)
    bounds = [(start, min(size, start + segment)) for start in range(0, size, segment)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        ahead = 2 * max(1, jobs)
        pending = deque(pool.submit(_cut_segment, data, s, e) for s, e in bounds[:ahead])
        queued = len(pending)
        at = 0  # where the next chunk of the whole file's cut starts
        try:
            while pending:
                pieces = pending.popleft().result()
                if queued < len(bounds):
                    pending.append(pool.submit(_cut_segment, data, *bounds[queued]))
                    queued += 1
                if pieces and at <= pieces[-1][0]:
                    run, at = _stitched(data, at, pieces)
                    yield run
        finally:
            for future in pending:
                future.cancel()
    if at < size:  # only if the last segment was passed over: cannot happen, but be exact
        run, at = _stitched(data, at, [])
        yield run


def _cut_segment(data: memoryview, start: int, end: int) -> list[Piece]:
    """The chunks that start in ``[start, end)`` when a chunk starts at ``start``, hashed.

    Cut from a view that runs `MAXIMUM` bytes past ``end`` (or to the file's end), so
    each of them is cut as it would be in the whole file: FastCDC looks no further
    than `MAXIMUM` bytes from a chunk's start.
    """
    from blake3 import blake3

    found: list[Piece] = []
    view = data[start : min(len(data), end + MAXIMUM)]
    for chunk in chunker().cut_buf(view):
        if start + chunk.offset >= end:
            break
        found.append((start + chunk.offset, len(chunk.data), blake3(chunk.data).hexdigest()))
    return found


def _stitched(data: memoryview, at: int, pieces: list[Piece]) -> tuple[list[Piece], int]:
    """The whole file's chunks from ``at`` on, through a segment's ``pieces``; and where next.

    From ``at``, chunks are cut one at a time until one starts where a piece starts;
    from there the pieces are the file's own chunks.
    """
    from blake3 import blake3

    starts = {piece[0]: i for i, piece in enumerate(pieces)}
    end = pieces[-1][0] + pieces[-1][1] if pieces else len(data)
    cutter = chunker()
    run: list[Piece] = []
    while at not in starts and at < end:
        view = data[at : min(len(data), at + MAXIMUM)]
        length = len(next(iter(cutter.cut_buf(view))).data)
        run.append((at, length, blake3(view[:length]).hexdigest()))
        at += length
    if at in starts:
        run.extend(pieces[starts[at] :])
        at = end
    return run, at


def dump_chunk_list(size: int, chunks: chunklist.Chunks) -> bytes:
    """The chunk list of a file of ``size`` bytes cut into ``chunks`` (`CHUNKER`)."""
    return chunklist.dump(size, CHUNKER, chunks)


parse_chunk_list = chunklist.parse
