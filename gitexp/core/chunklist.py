"""The chunk list: a big file as the content-defined chunks it was cut into.

One document serves a layout-2 remote (`gitexp.storage.chunks`) and the local cache's
compacted objects (`gitexp.cache.chunkstore`), UTF-8 JSON without spaces::

    {"version":1,"size":<file bytes>,"chunker":"<how it was cut>",
     "chunks":[["<chunk hex>",<length>],…]}

with the chunks in file order; concatenated, they are the file. ``chunker`` names the
cutting, for dedup only: a list cut another way reads the same.
"""

from __future__ import annotations

import json

from gitexp.core.hashing import Oid

VERSION = 1
_HEX = frozenset("0123456789abcdef")

Chunks = list[tuple[Oid, int]]
"""A file's chunks in order: each chunk's id and length."""


def dump(size: int, chunker: str, chunks: Chunks) -> bytes:
    """The chunk list of a file of ``size`` bytes cut by ``chunker`` into ``chunks``."""
    value = {
        "version": VERSION,
        "size": size,
        "chunker": chunker,
        "chunks": [[oid.hex, length] for oid, length in chunks],
    }
    return json.dumps(value, separators=(",", ":")).encode()


def parse(data: bytes) -> Chunks | None:
    """The chunks a list names, in order; None if the list is damaged.

    Damaged: not JSON of this version, a malformed chunk id or length, or lengths
    that do not add up to the size it states.
    """
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("version") != VERSION:
        return None
    rows, size = value.get("chunks"), value.get("size")
    if not isinstance(rows, list) or not isinstance(size, int):
        return None
    found: Chunks = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 2):
            return None
        hex_, length = row
        if not (isinstance(hex_, str) and len(hex_) == 64 and set(hex_) <= _HEX):
            return None
        if not isinstance(length, int) or length <= 0:
            return None
        found.append((Oid(hex_), length))
    return found if sum(length for _, length in found) == size else None
