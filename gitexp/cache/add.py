"""Putting workspace files and folders into the cache and describing them by a pointer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from gitexp.cache.objects import ObjectStore
from gitexp.core.manifest import Entry, dump_manifest
from gitexp.core.pointer import Pointer


def store_path(store: ObjectStore, path: str | os.PathLike[str]) -> Pointer:
    """Store a file, or a folder (each file, then its manifest), and return its pointer."""
    full = Path(path)
    if full.is_dir():
        return _store_dir(store, full)
    oid, size = store.put_file(full)
    return Pointer(oid, size)


def _store_dir(store: ObjectStore, folder: Path) -> Pointer:
    entries: list[Entry] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in filenames:
            full = os.path.join(dirpath, name)
            info = os.lstat(full)
            if not stat.S_ISREG(info.st_mode):
                continue
            oid, size = store.put_file(full)
            rel = Path(full).relative_to(folder).as_posix()
            entries.append(Entry(rel, oid, size, bool(info.st_mode & stat.S_IXUSR)))
    manifest = store.put_bytes(dump_manifest(entries))
    return Pointer(manifest, sum(e.size for e in entries), "dir", len(entries))
