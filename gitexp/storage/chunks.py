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

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitexp.core.hashing import Oid

FOLDER = "chunks"
VERSION = 1
CHUNKED = 16 << 20
"""Files of this many bytes or more are chunked."""
AVERAGE = 48 << 10
MINIMUM = 16 << 10
MAXIMUM = 256 << 10
"""FastCDC's settings: the chunks come out at about AVERAGE + MINIMUM (64 KiB) on average."""
CHUNKER = f"fastcdc2020/{AVERAGE}/{MINIMUM}/{MAXIMUM}"
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


def cut(cutter: Any, path: Path) -> Iterator[tuple[int, memoryview]]:
    """The chunks of the file at ``path``, in order: each one's offset, and its bytes.

    The bytes are views into a mapping of the file, nothing copied; the mapping
    stays open as long as any view of it is held.
    """
    for chunk in cutter.cut_file(str(path)):
        yield chunk.offset, chunk.data


def dump_chunk_list(size: int, chunks: list[tuple[Oid, int]]) -> bytes:
    """The chunk list of a file of ``size`` bytes cut into ``chunks``."""
    value = {
        "version": VERSION,
        "size": size,
        "chunker": CHUNKER,
        "chunks": [[oid.hex, length] for oid, length in chunks],
    }
    return json.dumps(value, separators=(",", ":")).encode()


def parse_chunk_list(data: bytes) -> list[tuple[Oid, int]] | None:
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
    found: list[tuple[Oid, int]] = []
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
