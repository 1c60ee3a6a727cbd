"""Pushing a big file to a layout-2 remote as chunks: only the chunks the remote lacks move.

What the remote holds is what its packs' indexes list (read once per push), plus
the chunks this push has just stored: a new version of a file shares most chunks
with the versions before it, so it moves only the chunks around its edits, without
any listing of chunks. The file's hash is checked as it is cut (unless the stat
index vouches that the cache file is unchanged since its bytes were checked), and
its chunk list is written only after every chunk is in an indexed pack, and only if
the file's bytes match its id: a corrupt cache object never becomes a chunk list.
Each chunk is hashed once, by the thread that cuts its segment of the file (see
`gitexp.storage.chunks.cut_hashed`: two segments at once, the chunks those of one
cut); a pack of new chunks lying end to end in the file is a view of the file's
mapping, named by the thread that uploads it while the next pack is made.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from gitexp.core.hashing import Oid
from gitexp.errors import IntegrityError
from gitexp.storage.backend import Backend, bounded
from gitexp.storage.chunks import chunk_list_key, cut_hashed, dump_chunk_list, mapped
from gitexp.storage.packing import Pack, upload_made
from gitexp.storage.packs import PACK_TARGET
from gitexp.storage.transfer import LocalObjects, closing


@dataclass
class Chunked:
    """What chunked pushes share: every chunk known to be on the remote."""

    present: set[Oid] = field(default_factory=set)


def with_chunk_lists(backend: Backend, oids: Iterable[Oid], jobs: int) -> set[Oid]:
    """Those of ``oids`` whose chunk list is on the remote (one existence check each)."""

    def check(oid: Oid) -> tuple[str, bool]:
        return oid.hex, backend.exists(chunk_list_key(oid))

    found: set[Oid] = set()
    with closing(bounded(check, list(oids), jobs, key=lambda o: o.hex)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome:
                found.add(Oid(key))
    return found


Stamp = tuple[int, int, int]
"""A cache file's inode, size and modification time (ns): unchanged since it was checked."""


def upload_chunked(
    objects: LocalObjects,
    backend: Backend,
    oid: Oid,
    state: Chunked,
    jobs: int,
    intact: Stamp | None = None,
) -> int:
    """Store the file ``oid`` as chunks and a chunk list; the bytes sent.

    Each chunk is hashed once, as it is cut from a mapping of the file (segments
    of it on two threads at once); a pack of new chunks that lie one after another
    in the file (all of a new file's, most of a new version's) is a view of the
    mapping, not a copy, named by the thread that uploads it while the next is made.
    The whole file is hashed too, unless ``intact`` is its stamp when its bytes
    were last found to match its id and the file still has it (`gitexp fsck` is
    what vouches for such a file). Raises `IntegrityError` (no chunk list written)
    when the cached file's bytes do not match its id, `StorageError` when the
    remote fails, `FileNotFoundError` when the cache lacks it.
    """
    from blake3 import blake3

    path = objects.path(oid)
    info = os.stat(path)
    data = mapped(path)
    whole = None if intact == (info.st_ino, info.st_size, info.st_mtime_ns) else blake3()
    chunks: list[tuple[Oid, int]] = []
    sent = 0

    def new_packs() -> Iterator[Pack]:
        run = _Run(data)
        for pieces in cut_hashed(data):
            if whole is not None:
                whole.update(data[pieces[0][0] : pieces[-1][0] + pieces[-1][1]])
            for offset, length, hex_ in pieces:
                chunk = Oid(hex_)
                chunks.append((chunk, length))
                if chunk not in state.present:
                    state.present.add(chunk)
                    run.add(chunk, offset, length)
                    if run.size >= PACK_TARGET:
                        yield run.pack()
                        run = _Run(data)
        if run.oids:
            yield run.pack()

    def stored(_chunk: Oid, size: int) -> None:
        nonlocal sent
        sent += size

    upload_made(backend, new_packs(), jobs, stored)
    if whole is not None and whole.hexdigest() != oid.hex:
        raise IntegrityError(
            f"cache object {oid} is corrupt (its bytes hash differently); "
            "no chunk list was pushed for it",
            hint="run `gitexp fsck` to move it aside, then add or pull it again",
        )
    listing = dump_chunk_list(sum(size for _, size in chunks), chunks)
    backend.put_bytes(listing, chunk_list_key(oid))
    return sent + len(listing)


@dataclass
class _Run:
    """The new chunks of one pack being gathered, and whether they lie end to end."""

    data: memoryview
    oids: list[Oid] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    size: int = 0
    contiguous: bool = True

    def add(self, chunk: Oid, offset: int, length: int) -> None:
        if self.spans:
            self.contiguous = self.contiguous and offset == sum(self.spans[-1])
        self.oids.append(chunk)
        self.spans.append((offset, length))
        self.size += length

    def pack(self) -> Pack:
        """The pack: a view of the file's mapping when the chunks are end to end."""
        sizes = tuple(length for _, length in self.spans)
        if self.contiguous:
            start, (last, length) = self.spans[0][0], self.spans[-1]
            body: bytes | memoryview = self.data[start : last + length]
        else:
            body = b"".join(self.data[offset : offset + length] for offset, length in self.spans)
        return Pack(body, tuple(self.oids), sizes)
