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

import itertools
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
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


@dataclass(frozen=True, slots=True)
class Listed:
    """A big file the local cache keeps as chunks cut as a push cuts them (``gc --compact``).

    ``listing`` is its chunk list's bytes: the very list a push of the whole file
    writes. ``chunks`` is what it names, in order; ``read`` gives a chunk's bytes
    from the cache, unchecked (`FileNotFoundError` when the chunk is absent).
    """

    listing: bytes
    chunks: list[tuple[Oid, int]]
    read: Callable[[Oid], bytes]


def upload_listed(backend: Backend, oid: Oid, listed: Listed, state: Chunked, jobs: int) -> int:
    """Store the file ``oid`` from its local chunks, never made whole; the bytes sent.

    Only the chunks the remote lacks (``state``) are sent, in packs, each checked
    against its id and length before it goes into one; every chunk is read, and the
    chunks in order must hash to ``oid`` before the chunk list (``listed.listing``,
    byte for byte) is stored. Raises `IntegrityError` (no chunk list written, no
    damaged chunk sent) for a chunk that is missing or damaged or a list that is not
    the file's, `StorageError` when the remote fails.
    """
    from blake3 import blake3

    whole = blake3()
    sent = 0

    def new_packs() -> Iterator[Pack]:
        oids: list[Oid] = []
        bodies: list[bytes] = []
        size = 0
        for chunk, length, data, sound in _read_ahead(listed, oid, state.present):
            whole.update(data)
            if chunk in state.present:
                continue
            if sound is None:  # present when its batch was read, so never here: be exact
                sound = len(data) == length and blake3(data).hexdigest() == chunk.hex
            if not sound:
                raise _damaged(oid, f"its chunk {chunk.hex} is damaged; nothing of it was sent")
            state.present.add(chunk)
            oids.append(chunk)
            bodies.append(data)
            size += length
            if size >= PACK_TARGET:
                yield Pack(b"".join(bodies), tuple(oids), tuple(map(len, bodies)))
                oids, bodies, size = [], [], 0
        if oids:
            yield Pack(b"".join(bodies), tuple(oids), tuple(map(len, bodies)))

    def stored(_chunk: Oid, size: int) -> None:
        nonlocal sent
        sent += size

    upload_made(backend, new_packs(), jobs, stored)
    if whole.hexdigest() != oid.hex:
        raise _damaged(oid, "its chunks do not hash to its id; no chunk list was pushed for it")
    backend.put_bytes(listed.listing, chunk_list_key(oid))
    return sent + len(listed.listing)


READ_JOBS = 2
"""Threads reading (and checking) a compacted file's chunks ahead of the packing."""
READ_BATCH = 64
"""Chunks each of them reads in one go (about 4 MiB)."""


def _read_ahead(
    listed: Listed, oid: Oid, present: set[Oid]
) -> Iterator[tuple[Oid, int, bytes, bool | None]]:
    """Each chunk of ``listed`` in order: its id, length, bytes, and whether it is sound.

    Read by `READ_JOBS` threads, a batch of `READ_BATCH` chunks each, at most two
    batches per thread ahead of the caller (bounded memory). A chunk ``present``
    lacks when its batch is sent off is hashed there (BLAKE3 lets go of the GIL);
    one it holds is not checked (None): it is not sent.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    from blake3 import blake3

    def read(batch: list[tuple[Oid, int, bool]]) -> list[tuple[Oid, int, bytes, bool | None]]:
        found: list[tuple[Oid, int, bytes, bool | None]] = []
        for chunk, length, check in batch:
            data = _chunk_bytes(listed, oid, chunk)
            sound = None
            if check:
                sound = len(data) == length and blake3(data).hexdigest() == chunk.hex
            found.append((chunk, length, data, sound))
        return found

    rows = iter(listed.chunks)
    with ThreadPoolExecutor(max_workers=READ_JOBS) as pool:
        pending: deque[Future[list[tuple[Oid, int, bytes, bool | None]]]] = deque()

        def submit() -> None:
            batch = [(c, n, c not in present) for c, n in itertools.islice(rows, READ_BATCH)]
            if batch:
                pending.append(pool.submit(read, batch))

        try:
            for _ in range(2 * READ_JOBS):
                submit()
            while pending:
                found = pending.popleft().result()
                submit()
                yield from found
        finally:
            for future in pending:
                future.cancel()


def _chunk_bytes(listed: Listed, oid: Oid, chunk: Oid) -> bytes:
    try:
        return listed.read(chunk)
    except FileNotFoundError as exc:
        raise _damaged(oid, f"its chunk {chunk.hex} is missing from the cache") from exc


def _damaged(oid: Oid, why: str) -> IntegrityError:
    return IntegrityError(
        f"compacted cache object {oid} cannot be pushed: {why}",
        hint="run `gitexp fsck` to set it aside, then add or pull the file again",
    )
