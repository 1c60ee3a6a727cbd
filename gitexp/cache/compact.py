"""``gc --compact``: big objects nothing links to kept as shared chunks, not whole files.

Compacting an object cuts it into content-defined chunks (the cutting is the
caller's: the same as a layout-2 remote's, so the chunks are the same), writes the
chunks that are new, then its chunk list, then flushes them and their folders to disk
(``fsync``), and only then drops the whole file (`gitexp.cache.chunkstore` has the
layout). An object that a workspace file is hard-linked to is left whole, and so is
one whose bytes do not hash to its id (``fsck`` deals with it). A kill at any moment
(or a power cut) leaves every object readable: whole, or listed with all its chunks.

Removing compacted objects and the chunks no list names any more is `sweep_compacted`,
called by ``gc`` under the store lock; `check_compacted` is ``fsck``'s part.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.cache import chunkstore
from gitexp.cache.atomic import atomic_write, flush_to_disk
from gitexp.cache.chunkstore import SMALLEST
from gitexp.cache.layout import upgrade_cache
from gitexp.cache.objects import CORRUPT_DIR, ObjectStore
from gitexp.core.hashing import ALGORITHM, Hasher, Oid
from gitexp.errors import IntegrityError

Cut = Callable[[Path], Iterable[memoryview]]
"""The chunks of the file at a path, in order (views into the file are fine)."""


@dataclass
class Compaction:
    """What a compaction did (or, in a dry run, would do).

    ``whole_bytes`` is what the compacted files took as whole files; ``stored_bytes``
    what they take now: the chunks that were new and their lists.
    """

    compacted: list[Oid] = field(default_factory=list)
    whole_bytes: int = 0
    stored_bytes: int = 0
    corrupt: list[Oid] = field(default_factory=list)
    linked: int = 0
    """Objects left whole because a workspace file is a hard link to them."""


@dataclass
class _Run:
    cut: Cut
    chunker: str
    dry_run: bool
    present: set[Oid]
    tag: str = field(default_factory=lambda: f"{os.getpid()}-{os.urandom(4).hex()}")
    upgraded: bool = False


OnDone = Callable[[int], None]
"""Told the size of each candidate (0 for one not whole) once compaction is through with it."""
Guard = Callable[[Oid], contextlib.AbstractContextManager[bool]]
"""Held around the compaction of each candidate; it says whether to go ahead with it."""


def compact(
    store: ObjectStore,
    candidates: Iterable[Oid],
    cut: Cut,
    chunker: str,
    *,
    smallest: int = SMALLEST,
    dry_run: bool = False,
    on_done: OnDone | None = None,
    guard: Guard | None = None,
) -> Compaction:
    """Keep each of ``candidates`` of ``smallest`` bytes or more as chunks; what it saved.

    The caller leaves out objects the workspaces need, and holds the store lock
    (`gitexp.cache.locks.sweeping`) while an object is compacted, so no ``gc`` runs
    meanwhile, nor a checkout that could link to a whole file about to go: for the
    whole run, or for one object at a time through ``guard``, which is entered
    around each candidate and says whether it may still be compacted (what the
    workspaces need can change while the lock is free). Idempotent: an object compacted
    already is skipped, one made whole again (checked out, pushed) only loses its
    whole copy. One object at a time: its new chunks, its list and their folders are
    flushed to disk (``fsync``) before its whole file is dropped, so even a power
    cut leaves it readable, and the space comes back as compaction goes.
    """
    result = Compaction()
    run = _Run(cut, chunker, dry_run, set(chunkstore.chunk_oids(store.root)))
    for oid in candidates:
        with contextlib.nullcontext(True) if guard is None else guard(oid) as go:
            info = _whole(store, oid, max(smallest, SMALLEST)) if go else None
            if info is not None:
                _compact_whole(store, oid, info, run, result)
        if on_done is not None:
            on_done(0 if info is None else info.st_size)
    return result


def _compact_whole(
    store: ObjectStore, oid: Oid, info: os.stat_result, run: _Run, result: Compaction
) -> None:
    """Compact one whole object, flush what was written, then drop the whole file."""
    if info.st_nlink > 1:
        result.linked += 1
        return
    written = _compact_one(store, oid, run)
    if written is None:
        result.corrupt.append(oid)
        return
    stored, paths = written
    result.compacted.append(oid)
    result.whole_bytes += info.st_size
    result.stored_bytes += stored
    if not run.dry_run:
        flush_to_disk(paths)
        if _unchanged(store, oid, info):
            store.remove_many([oid])


def _whole(store: ObjectStore, oid: Oid, smallest: int) -> os.stat_result | None:
    try:
        info = os.stat(store.path(oid))
    except (FileNotFoundError, NotADirectoryError):
        return None
    return info if info.st_size >= smallest else None


def _unchanged(store: ObjectStore, oid: Oid, before: os.stat_result) -> bool:
    """Whether the whole file is still the one compacted, and still linked nowhere."""
    try:
        now = os.stat(store.path(oid))
    except FileNotFoundError:
        return False
    return now.st_ino == before.st_ino and now.st_nlink == 1


def _compact_one(store: ObjectStore, oid: Oid, run: _Run) -> tuple[int, list[str]] | None:
    """Write the object's new chunks and its list; the bytes, and what to flush (None: corrupt).

    What to flush: the new chunk files, the list, and every folder that got a new name.
    """
    if _listed_whole(store.root, oid, run.present):
        return 0, []
    from blake3 import blake3

    hasher = Hasher()
    chunks: chunkstore.Chunks = []
    stored = 0
    new: list[tuple[Oid, memoryview]] = []
    for view in run.cut(store.path(oid)):
        hasher.update(view)
        chunk = Oid(blake3(view).hexdigest())
        chunks.append((chunk, len(view)))
        if chunk not in run.present:
            run.present.add(chunk)
            new.append((chunk, view))
            stored += len(view)
    if hasher.oid != oid:
        run.present.difference_update(c for c, _ in new)
        return None
    listing = chunkstore.dump_list(hasher.size, run.chunker, chunks)
    if run.dry_run:
        return stored + len(listing), []
    if not run.upgraded:
        upgrade_cache(store.root)
        run.upgraded = True
    written = []
    for chunk, view in new:
        chunkstore.put_chunk(store.root, chunk, view, run.tag)
        written.append(chunkstore.chunk_path(store.root, chunk))
    path = chunkstore.list_path(store.root, oid)
    atomic_write(path, listing, 0o444)
    folders = {os.path.dirname(p) for p in written} | {str(path.parent)}
    chunks_dir = store.root / chunkstore.CHUNKS_DIR
    above = [chunks_dir / ALGORITHM, chunks_dir, path.parent.parent, store.root]
    return stored + len(listing), [*written, str(path), *folders, *map(str, above)]


def _listed_whole(root: Path, oid: Oid, present: Set[Oid]) -> bool:
    """Whether ``oid`` has a sound list whose chunks are all there (compacted before)."""
    try:
        chunks = chunkstore.read_list(root, oid)
    except IntegrityError:  # a damaged list is replaced by compacting again
        return False
    return chunks is not None and all(c in present for c, _ in chunks)


def drop_restored(store: ObjectStore, oids: Iterable[Oid]) -> int:
    """Drop again the whole copies of compacted objects made whole for a moment; how many.

    For a push to a layout-1 remote, which takes whole files: afterwards the cache is as compact as
    before. A copy that a workspace file is hard-linked to meanwhile stays.
    """
    gone = []
    for oid in oids:
        try:
            info = os.stat(store.path(oid))
        except FileNotFoundError:
            continue
        if info.st_nlink == 1 and store.is_compacted(oid):
            gone.append(oid)
    store.remove_many(gone)
    return len(gone)


@dataclass
class CompactedSweep:
    """What `sweep_compacted` removed (or would remove)."""

    removed: list[Oid] = field(default_factory=list)
    """Objects that were compacted only (those with a whole copy are the caller's)."""
    freed_bytes: int = 0
    kept: int = 0
    """Objects kept that are compacted only."""
    recent: int = 0


def sweep_compacted(
    store: ObjectStore,
    keep: Set[Oid],
    removed_whole: Set[Oid],
    *,
    dry_run: bool,
    now: bool,
    limit: float,
) -> CompactedSweep:
    """Remove the lists of objects ``gc`` drops, then every chunk no list names.

    A list goes when its object is not in ``keep`` and either its whole copy went
    (``removed_whole``) or it has none and the list is older than ``limit`` (a time;
    any age with ``now``). Chunks go only when every remaining list could be read (a
    damaged list might name any chunk); temporary files older than ``limit`` go too.
    """
    result = CompactedSweep()
    remaining: list[Oid] = []
    for oid in chunkstore.list_oids(store.root):
        path = chunkstore.list_path(store.root, oid)
        whole = oid not in removed_whole and store.has_whole(oid)
        if oid in keep or whole:
            result.kept += 0 if whole else 1  # a whole copy was counted already
            remaining.append(oid)
            continue
        with contextlib.suppress(FileNotFoundError):
            info = os.stat(path)
            if oid not in removed_whole and not now and info.st_mtime >= limit:
                result.recent += 1
                remaining.append(oid)
                continue
            result.freed_bytes += info.st_size
            if oid not in removed_whole:
                result.removed.append(oid)
            if not dry_run:
                os.unlink(path)
    named = _named_chunks(store.root, remaining)
    if named is not None:
        result.freed_bytes += _sweep_chunks(store.root, named, limit, dry_run)
    return result


def _named_chunks(root: Path, lists: Iterable[Oid]) -> set[Oid] | None:
    named: set[Oid] = set()
    for oid in lists:
        try:
            chunks = chunkstore.read_list(root, oid)
        except IntegrityError:  # a damaged list might name any chunk: keep them all
            return None
        named.update(c for c, _ in chunks or ())
    return named


def _sweep_chunks(root: Path, named: Set[Oid], limit: float, dry_run: bool) -> int:
    """Remove chunks not in ``named`` and stale temporary files; the bytes freed."""
    freed = 0
    base = root / chunkstore.CHUNKS_DIR / "blake3"
    for bucket, names in chunkstore.buckets(base):
        for name in names:
            path = base / bucket / name
            if name.startswith(chunkstore.TMP_PREFIX):
                with contextlib.suppress(FileNotFoundError):
                    if os.stat(path).st_mtime < limit and not dry_run:
                        os.unlink(path)
                continue
            if Oid(bucket + name) in named or len(name) != 62:
                continue
            with contextlib.suppress(FileNotFoundError):
                freed += os.stat(path).st_size
                if not dry_run:
                    os.unlink(path)
    return freed


@dataclass
class CompactedCheck:
    """What `check_compacted` found: lists checked, and what it set aside (with where)."""

    checked: int = 0
    corrupt: list[tuple[Oid, Path]] = field(default_factory=list)


def check_compacted(
    store: ObjectStore, on_object: Callable[[Oid], None] | None = None, jobs: int | None = None
) -> CompactedCheck:
    """Verify every compacted object by its chunks, ``jobs`` (default: the cores) at a time.

    Each chunk is checked against its id and length (once, however many lists name
    it), and each object's chunks, streamed in order, must hash to its id; nothing
    is written but what is set aside. A chunk whose bytes hash differently is moved
    into ``<cache>/corrupt/``; the list of an object that no longer reassembles to
    its id is moved there too, so the object counts as missing (if it has no whole
    copy) and a pull fetches it. Reading and hashing run on several threads at once
    (both let go of the GIL). ``on_object`` is called from this thread.
    """
    from concurrent.futures import ThreadPoolExecutor

    result = CompactedCheck()
    good: set[Oid] = set()
    oids = list(chunkstore.list_oids(store.root))
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        sounds = pool.map(lambda o: _reassembles(store, o, good), oids)
        for oid, sound in zip(oids, sounds, strict=True):
            result.checked += 1
            if not sound:
                path = chunkstore.list_path(store.root, oid)
                result.corrupt.append((oid, _aside(store, path, oid)))
            if on_object is not None:
                on_object(oid)
    return result


def _reassembles(store: ObjectStore, oid: Oid, good: set[Oid]) -> bool:
    """Whether the object's chunks are sound and hash to its id, read one at a time.

    ``good`` holds the chunks found sound so far (shared by the threads: at worst
    a chunk is hashed twice).
    """
    from blake3 import blake3

    try:
        chunks = chunkstore.read_list(store.root, oid)
    except IntegrityError:  # a damaged list is what this looks for
        return False
    if chunks is None:
        return True  # removed meanwhile
    hasher = Hasher()
    for chunk, length in chunks:
        try:
            data = chunkstore.read_chunk(store.root, chunk)
        except FileNotFoundError:
            return False
        if chunk not in good:
            if len(data) != length or Oid(blake3(data).hexdigest()) != chunk:
                _aside(store, Path(chunkstore.chunk_path(store.root, chunk)), chunk, "chunk-")
                return False
            good.add(chunk)
        hasher.update(data)
    return hasher.oid == oid


def _aside(store: ObjectStore, path: Path, oid: Oid, kind: str = "chunklist-") -> Path:
    folder = store.root / CORRUPT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{kind}{oid.hex}.{int(time.time())}"
    with contextlib.suppress(FileNotFoundError):
        os.replace(path, target)
    return target
