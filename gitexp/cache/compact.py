"""``gc --compact``: big objects nothing links to kept as shared chunks, not whole files.

Compacting an object cuts it into content-defined chunks (the cutting is the
caller's: the same as a layout-2 remote's, so the chunks are the same), writes the
chunks that are new, then its chunk list, then flushes everything to disk, and only
then drops the whole file (`gitexp.cache.chunkstore` has the layout). An object
that a workspace file is hard-linked to is left whole, and so is one whose bytes do
not hash to its id (``fsck`` deals with it). A kill at any moment leaves every
object readable: whole, or listed with all its chunks.

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
from gitexp.cache.atomic import atomic_write
from gitexp.cache.chunkstore import SMALLEST
from gitexp.cache.layout import upgrade_cache
from gitexp.cache.objects import CORRUPT_DIR, ObjectStore
from gitexp.core.hashing import Hasher, Oid
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


def compact(
    store: ObjectStore,
    candidates: Iterable[Oid],
    cut: Cut,
    chunker: str,
    *,
    smallest: int = SMALLEST,
    dry_run: bool = False,
) -> Compaction:
    """Keep each of ``candidates`` of ``smallest`` bytes or more as chunks; what it saved.

    The caller leaves out objects the workspaces need and holds the store lock
    (`gitexp.cache.locks.sweeping`), so no ``gc`` runs meanwhile. Idempotent: an
    object compacted already is skipped, one made whole again (checked out, pushed)
    only loses its whole copy. Everything new is flushed to disk before any whole
    file is dropped.
    """
    result = Compaction()
    run = _Run(cut, chunker, dry_run, set(chunkstore.chunk_oids(store.root)))
    drop: list[tuple[Oid, os.stat_result]] = []
    for oid in candidates:
        info = _whole(store, oid, max(smallest, SMALLEST))
        if info is None:
            continue
        if info.st_nlink > 1:
            result.linked += 1
            continue
        stored = _compact_one(store, oid, run)
        if stored is None:
            result.corrupt.append(oid)
            continue
        result.compacted.append(oid)
        result.whole_bytes += info.st_size
        result.stored_bytes += stored
        drop.append((oid, info))
    if not dry_run and drop:
        os.sync()  # the chunks and lists are on disk before any whole copy goes
        store.remove_many(oid for oid, info in drop if _unchanged(store, oid, info))
    return result


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


def _compact_one(store: ObjectStore, oid: Oid, run: _Run) -> int | None:
    """Write the object's new chunks and its list; the bytes written (None: corrupt)."""
    if _listed_whole(store.root, oid, run.present):
        return 0
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
    if not run.dry_run:
        if not run.upgraded:
            upgrade_cache(store.root)
            run.upgraded = True
        for chunk, view in new:
            chunkstore.put_chunk(store.root, chunk, view, run.tag)
        atomic_write(chunkstore.list_path(store.root, oid), listing, 0o444)
    return stored + len(listing)


def _listed_whole(root: Path, oid: Oid, present: Set[Oid]) -> bool:
    """Whether ``oid`` has a sound list whose chunks are all there (compacted before)."""
    try:
        chunks = chunkstore.read_list(root, oid)
    except IntegrityError:  # a damaged list is replaced by compacting again
        return False
    return chunks is not None and all(c in present for c, _ in chunks)


def drop_restored(store: ObjectStore, oids: Iterable[Oid]) -> int:
    """Drop again the whole copies of compacted objects made whole for a moment; how many.

    For a push, which reads whole files: afterwards the cache is as compact as
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
    store: ObjectStore, on_object: Callable[[Oid], None] | None = None
) -> CompactedCheck:
    """Reassemble every compacted object in memory, chunk by chunk, and hash it.

    A chunk whose bytes hash differently is moved into ``<cache>/corrupt/``; the
    list of an object that no longer reassembles to its id is moved there too, so
    the object counts as missing (if it has no whole copy) and a pull fetches it.
    Each chunk is hashed once however many lists name it.
    """
    result = CompactedCheck()
    good: set[Oid] = set()
    for oid in list(chunkstore.list_oids(store.root)):
        result.checked += 1
        if not _reassembles(store, oid, good):
            result.corrupt.append((oid, _aside(store, chunkstore.list_path(store.root, oid), oid)))
        if on_object is not None:
            on_object(oid)
    return result


def _reassembles(store: ObjectStore, oid: Oid, good: set[Oid]) -> bool:
    from blake3 import blake3

    try:
        chunks = chunkstore.read_list(store.root, oid)
    except IntegrityError:  # a damaged list is what this looks for
        return False
    if chunks is None:
        return True  # removed meanwhile
    hasher = Hasher()
    for chunk, length in chunks:
        path = chunkstore.chunk_path(store.root, chunk)
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            return False
        if chunk not in good:
            if len(data) != length or Oid(blake3(data).hexdigest()) != chunk:
                _aside(store, Path(path), chunk, "chunk-")
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
