"""Which cache objects ``gc --compact`` may keep as chunks, and the cutting it uses.

An object stays whole while any working tree of the repository (the main one, and
every linked one: runs in isolated worktrees among them) has a pointer to it: its
files may be links to the object. The cutting is the storage remotes' (FastCDC with
the settings of `gitexp.storage.chunks`), so a compacted file and its copy on a
layout-2 remote are cut into the same chunks.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from gitexp.cache.compact import Compaction, Guard, compact, drop_restored
from gitexp.cache.locks import sweeping
from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid
from gitexp.core.pointer import Pointer, data_path, parse_pointer
from gitexp.data.pointers import needed_objects
from gitexp.errors import GitexpError
from gitexp.git import plumbing
from gitexp.project import Project
from gitexp.storage.backend import Backend
from gitexp.storage.chunkpush import Listed
from gitexp.storage.transfer import Progress


def in_use(project: Project, store: ObjectStore) -> set[Oid]:
    """Every object the pointers of any working tree need (what compaction leaves whole).

    With the ``symlink`` link type, the objects data paths link to are kept whole too.
    A pointer file another working tree cannot parse is skipped there; this one's
    raises `FormatError` (then nothing is compacted).
    """
    pointers: list[Pointer] = []
    roots = {project.root, *plumbing.worktree_roots(project.root)}
    pointers_by_root: dict[Path, list[str]] = {}
    for root in roots:
        for path in plumbing.workspace_pointers(root):
            try:
                data = (root / path).read_bytes()
                pointers.append(parse_pointer(data, path))
                pointers_by_root.setdefault(root, []).append(data_path(path))
            except FileNotFoundError:
                continue
            except GitexpError:
                if root == project.root:
                    raise
    needed, _missing = needed_objects(store, pointers)
    if project.local.link == "symlink":
        needed |= _linked(store, roots, pointers_by_root)
    return needed


def _linked(store: ObjectStore, roots: set[Path], paths: dict[Path, list[str]]) -> set[Oid]:
    """Objects that data paths of the working trees are symbolic links to (any version).

    A data path whose pointer changed (a ``git checkout`` without ``gitexp checkout``)
    still links to the old version's object: it must stay whole, or the link dangles.
    """
    from gitexp.core.hashing import oid_from_relpath

    prefix = f"{store.root}{os.sep}"
    found: set[Oid] = set()
    for root in roots:
        for rel in paths.get(root, []):
            for link in _links_under(root / rel):
                target = os.readlink(link)
                if target.startswith(prefix):
                    oid = oid_from_relpath(target[len(prefix) :])
                    if oid is not None:
                        found.add(oid)
    return found


def _links_under(path: Path) -> Iterator[str]:
    if path.is_symlink():
        yield str(path)
    elif path.is_dir():
        for folder, _dirs, files in os.walk(path):
            for name in files:
                full = os.path.join(folder, name)
                if os.path.islink(full):
                    yield full


def compact_cache(
    project: Project,
    store: ObjectStore,
    removed: Iterable[Oid],
    *,
    dry_run: bool,
    progress: Callable[[str, Progress], None] | None = None,
) -> Compaction:
    """Compact every whole big object of the cache that no working tree needs.

    ``removed``: objects the gc that ran just before removed (or, in a dry run, would).
    ``progress`` is told (phase ``"compact"``) the files and bytes gone through. The
    caller must not hold the store lock: each object is compacted under the lock
    taken exclusive for it alone (`sweeping`), and only if no working tree needs it
    then, so a checkout, an add or a pull waits at most for the file being
    compacted, not for the whole run. A dry run writes nothing and takes no lock.
    """
    from gitexp.storage.chunks import CHUNKED, CHUNKER
    from gitexp.storage.transfer import Meter

    skip = in_use(project, store) | set(removed)
    sized = _sized(store, (oid for oid in store.oids() if oid not in skip), CHUNKED)
    report = progress
    meter = Meter(
        (lambda p: report("compact", p)) if report is not None else None,
        len(sized),
        sum(sized.values()),
    )
    guard = None if dry_run else _locked_unless_needed(project, store)
    return compact(
        store,
        sized,
        _cut(),
        CHUNKER,
        smallest=CHUNKED,
        dry_run=dry_run,
        on_done=meter.step,
        guard=guard,
    )


HAND_OVER = 0.01
"""Seconds compaction pauses between objects, the store lock free (a file takes far longer)."""


def _locked_unless_needed(project: Project, store: ObjectStore) -> Guard:
    """Hold the store lock exclusive around one object; go ahead if no working tree needs it.

    What the working trees need is read again under the lock: a ``git checkout`` may
    have made a pointer name the object since the compaction began (`in_use`). After
    each object it pauses for `HAND_OVER`: a lock let go goes to whoever asks first,
    and a command waiting for it must get its turn before the next object's.
    """

    @contextlib.contextmanager
    def guard(oid: Oid) -> Iterator[bool]:
        with sweeping(store.root):
            yield oid not in in_use(project, store)
        time.sleep(HAND_OVER)

    return guard


def _sized(store: ObjectStore, oids: Iterable[Oid], smallest: int) -> dict[Oid, int]:
    """Those of ``oids`` whose whole file has ``smallest`` bytes or more, with their sizes."""
    found = {}
    for oid in oids:
        try:
            size = os.stat(store.path(oid)).st_size
        except FileNotFoundError:
            continue
        if size >= smallest:
            found[oid] = size
    return found


def _cut() -> Callable[[Path], Iterator[memoryview]]:
    """The chunks of a file as a push to a layout-2 remote cuts them: the same ids."""
    from gitexp.storage.chunks import cut_hashed, mapped

    def chunks(path: Path) -> Iterator[memoryview]:
        data = mapped(path) if path.stat().st_size else memoryview(b"")
        for run in cut_hashed(data):
            for offset, length, _hex in run:
                yield data[offset : offset + length]

    return chunks


def pushable_list(store: ObjectStore, oid: Oid) -> Listed | None:
    """The local chunk list of ``oid`` if it is the list a push to a layout-2 remote writes.

    Such an object is pushed as the chunks it is kept as, never made whole
    (`gitexp.storage.chunkpush.upload_listed`). None for an object that is not
    compacted, or whose list is damaged or cut another way (made whole to be pushed).
    """
    from functools import partial

    from gitexp.cache import chunkstore
    from gitexp.storage.chunks import dump_chunk_list

    try:
        listing = chunkstore.list_path(store.root, oid).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
    chunks = chunkstore.parse_list(listing)
    if not chunks or dump_chunk_list(sum(n for _, n in chunks), chunks) != listing:
        return None
    return Listed(listing, chunks, partial(chunkstore.read_chunk, store.root))


def absent_from(backend: Backend, layout: int, oids: list[Oid], jobs: int) -> list[Oid]:
    """Those of ``oids`` the storage remote holds neither as a chunk list nor loose.

    A push need not reassemble a compacted file the remote has already (a few
    requests per file: compacted files are big and few). Raises `StorageError`.
    """
    if not oids:
        return []
    from gitexp.storage.chunkpush import with_chunk_lists
    from gitexp.storage.layout import PACKED

    listed = with_chunk_lists(backend, oids, jobs) if layout == PACKED else set()
    return [oid for oid in oids if oid not in listed and not backend.exists(oid.relpath)]


def compact_again(project: Project, store: ObjectStore, oids: list[Oid]) -> None:
    """Drop again the whole copies a push made of compacted objects (``oids``).

    Unless a workspace may link to them:

    with the ``symlink`` link type a workspace file may point at the copy by name,
    so the copies stay (the next ``gc --compact`` drops those nothing needs).
    """
    if oids and project.local.link != "symlink":
        drop_restored(store, [o for o in oids if o not in in_use(project, store)])
