"""Putting workspace files and folders into the cache and describing them by a pointer.

A file becomes one object; a folder becomes an object per distinct file plus its
manifest. Files the stat index knows unchanged are not read again (their objects are
only checked to be present). Symbolic links and special files inside a folder are not
data: they are skipped and reported.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.cache.objects import ObjectStore
from gitexp.cache.scan import Hashes, OnFile, list_folder, total_size
from gitexp.cache.statindex import StatIndex
from gitexp.core.manifest import dump_manifest
from gitexp.core.pointer import Pointer


@dataclass
class Stored:
    """What storing a path gave: its pointer, and what inside it was not data."""

    pointer: Pointer
    skipped: list[str] = field(default_factory=list)


def store_path(
    store: ObjectStore,
    path: str | os.PathLike[str],
    index: StatIndex | None = None,
    *,
    on_file: OnFile | None = None,
) -> Pointer:
    """Store a file, or a folder (each file, then its manifest), and return its pointer.

    Raises `FileNotFoundError` when the path (or a file in the folder) disappears
    while it is stored and `ConflictError` when a file changes while it is read; no
    partial object is left behind either way.
    """
    return store_tree(store, path, index, on_file=on_file).pointer


def store_tree(
    store: ObjectStore,
    path: str | os.PathLike[str],
    index: StatIndex | None = None,
    *,
    on_file: OnFile | None = None,
    jobs: int | None = None,
) -> Stored:
    """`store_path`, also saying which entries of a folder were skipped."""
    full = os.path.abspath(path)
    info = os.stat(full)
    if index is not None:
        return _store(store, full, info, index, on_file, jobs)
    with contextlib.ExitStack() as stack:
        folder = store.index_folder
        if folder is None:  # a store of no project: an index for this call only
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=".gitexp-")))
        own = stack.enter_context(StatIndex(folder))
        return _store(store, full, info, own, on_file, jobs)


def _store(
    store: ObjectStore,
    full: str,
    info: os.stat_result,
    index: StatIndex,
    on_file: OnFile | None,
    jobs: int | None,
) -> Stored:
    if stat.S_ISDIR(info.st_mode):
        return _store_dir(store, full, index, on_file, jobs)
    oid = Hashes(index, store).one(full, info)
    if on_file is not None:
        on_file(Path(full).name)
    return Stored(Pointer(oid, info.st_size))


def _store_dir(
    store: ObjectStore, folder: str, index: StatIndex, on_file: OnFile | None, jobs: int | None
) -> Stored:
    listing = list_folder(folder)
    entries = Hashes(index, store, jobs).entries(folder, listing.files, on_file)
    manifest = store.put_bytes(dump_manifest(entries))
    pointer = Pointer(manifest, total_size(entries), "dir", len(entries))
    return Stored(pointer, listing.skipped)
