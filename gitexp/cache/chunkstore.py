"""Compacted objects: big files kept as content-defined chunks instead of whole.

``gitexp gc --compact`` (`gitexp.cache.compact`) keeps older versions of big files
this way, so versions that differ by a few edits share most of their bytes. A
compacted object has:

- its chunk list ``<cache>/chunklists/<first 2 hex>/<other 62 hex>``, named by the
  file's id, UTF-8 JSON without spaces, the same document as a layout-2 remote's
  chunk list: ``{"version":1,"size":N,"chunker":"…","chunks":[["<hex>",length],…]}``;
- its chunks, each a file ``<cache>/chunks/blake3/<2 hex>/<62 hex>`` named by the
  BLAKE3 of its bytes, shared by every list that names it.

Concatenated in list order the chunks are the file: ``b3sum`` of the result prints
its id. Identity never changes: the object is still ``blake3:<id>``, and
`ObjectStore.has` finds it. Before a whole copy is needed (checkout, a push to a
layout-1 remote) it is reassembled here into a temporary file, hashed on the way,
and renamed into place only if it matches its id; a push to a layout-2 remote sends
its chunks as they are. Chunks are written before the list that names them, and the
list before the whole file is dropped, so a kill at any moment leaves every object
readable; a chunk no list names is removed by the next ``gc``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from gitexp.core import chunklist
from gitexp.core.hashing import ALGORITHM, Hasher, Oid
from gitexp.errors import IntegrityError

LISTS_DIR = "chunklists"
CHUNKS_DIR = "chunks"
SMALLEST = 1 << 20
"""No object smaller than this is ever compacted (checkout looks for no smaller one)."""
TMP_PREFIX = ".tmp-"
_HEX = frozenset("0123456789abcdef")

Chunks = chunklist.Chunks


def list_path(root: Path, oid: Oid) -> Path:
    """Where the chunk list of the object ``oid`` lives in the cache at ``root``."""
    return root / LISTS_DIR / oid.hex[:2] / oid.hex[2:]


def chunk_path(root: Path, chunk: Oid) -> str:
    """Where the chunk ``chunk`` lives in the cache at ``root``."""
    return f"{root}/{CHUNKS_DIR}/{chunk.relpath}"


dump_list = chunklist.dump
parse_list = chunklist.parse


def read_list(root: Path, oid: Oid) -> Chunks | None:
    """The chunks of the compacted object ``oid``; None when it has no chunk list.

    Raises `IntegrityError` for a list that is damaged.
    """
    try:
        data = list_path(root, oid).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    chunks = parse_list(data)
    if chunks is None:
        raise IntegrityError(
            f"the chunk list of compacted object {oid} is damaged",
            hint="run `gitexp fsck` to move it aside, then `gitexp pull` to fetch the object",
        )
    return chunks


def list_oids(root: Path) -> Iterator[Oid]:
    """Every object that has a chunk list in the cache at ``root``."""
    base = root / LISTS_DIR
    for bucket, names in buckets(base):
        for name in names:
            hex_ = bucket + name
            if len(name) == 62 and set(hex_) <= _HEX:
                yield Oid(hex_)


def chunk_oids(root: Path) -> Iterator[Oid]:
    """Every chunk file in the cache at ``root`` (temporary files are skipped)."""
    for bucket, names in buckets(root / CHUNKS_DIR / ALGORITHM):
        for name in names:
            hex_ = bucket + name
            if len(name) == 62 and set(hex_) <= _HEX:
                yield Oid(hex_)


def buckets(base: Path) -> Iterator[tuple[str, list[str]]]:
    """Each two-hex-digit folder under ``base`` with the names in it (none without ``base``)."""
    try:
        with os.scandir(base) as found:
            buckets = sorted(e.name for e in found if len(e.name) == 2)
    except FileNotFoundError:
        return
    for bucket in buckets:
        try:
            with os.scandir(base / bucket) as found:
                yield bucket, [e.name for e in found]
        except (FileNotFoundError, NotADirectoryError):
            continue


def has_chunk(root: Path, chunk: Oid) -> bool:
    """Whether the chunk file is there (its bytes are not checked)."""
    try:
        os.stat(chunk_path(root, chunk))
    except (FileNotFoundError, NotADirectoryError):
        return False
    return True


def put_chunk(root: Path, chunk: Oid, data: bytes | memoryview, tag: str) -> None:
    """Write a chunk (hashed by the caller) under a temporary name, then rename it in.

    ``tag`` makes the temporary name this writer's own. A kill leaves at most a
    temporary file, which ``gc`` removes; never a partial chunk under its name.
    """
    final = chunk_path(root, chunk)
    folder = os.path.dirname(final)
    tmp = f"{folder}/{TMP_PREFIX}{tag}"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o444)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.rename(tmp, final)


def read_chunk(root: Path, chunk: Oid) -> bytes:
    """The bytes of the chunk file ``chunk``, unchecked; `FileNotFoundError` when absent."""
    with open(chunk_path(root, chunk), "rb") as handle:
        return handle.read()


def read_chunks(root: Path, oid: Oid, chunks: Chunks) -> Iterator[bytes]:
    """The bytes of each chunk in order; `IntegrityError` for one missing or of the wrong size."""
    for chunk, length in chunks:
        try:
            data = read_chunk(root, chunk)
        except FileNotFoundError as exc:
            raise _broken(oid, f"its chunk {chunk.hex} is missing") from exc
        if len(data) != length:
            raise _broken(oid, f"its chunk {chunk.hex} has {len(data)} bytes, not {length}")
        yield data


def reassemble(root: Path, oid: Oid, tmp_dir: Path) -> str | None:
    """Rebuild the compacted object ``oid`` into a new temporary file in ``tmp_dir``.

    Returns the temporary file's path (its bytes hashed and found to be ``oid``),
    or None when the object has no chunk list. Raises `IntegrityError`, leaving no
    temporary file, when a chunk is missing or the bytes do not hash to ``oid``.
    """
    chunks = read_list(root, oid)
    if chunks is None:
        return None
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = f"{tmp_dir}/{TMP_PREFIX}whole-{os.getpid()}-{os.urandom(4).hex()}"
    hasher = Hasher()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        for data in read_chunks(root, oid, chunks):
            hasher.update(data)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        os.close(fd)
        fd = -1
        if hasher.oid != oid:
            raise _broken(oid, "its chunks do not hash to its id")
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return tmp


def _broken(oid: Oid, why: str) -> IntegrityError:
    return IntegrityError(
        f"compacted object {oid} cannot be reassembled: {why}",
        hint="run `gitexp fsck` to set it aside, then `gitexp pull` to fetch the object",
    )
