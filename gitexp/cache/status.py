"""How one data path in the workspace compares with its pointer.

States: ``unchanged`` (the data matches), ``modified`` (it differs; for a folder,
``changed`` lists the files added, changed or removed inside it), ``missing`` (no data,
but the cache can restore it) and ``not_in_cache`` (the cache lacks the pointer's
object or manifest, or files that are missing from the workspace). Unchanged files
are recognised by the stat index, without reading them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass

from gitexp.cache.objects import ObjectStore
from gitexp.cache.scan import Hashes, Listing, list_folder
from gitexp.cache.statindex import StatIndex
from gitexp.core.manifest import Entry
from gitexp.core.pointer import Pointer
from gitexp.core.results import JsonResult

UNCHANGED = "unchanged"
MODIFIED = "modified"
MISSING = "missing"
NOT_IN_CACHE = "not_in_cache"


@dataclass(frozen=True, slots=True)
class DataStatus(JsonResult):
    """One line of ``status``: a data path, its state, changed files inside it.

    ``state`` is ``unchanged``, ``modified``, ``missing`` or ``not_in_cache``.
    """

    path: str
    state: str
    changed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The object ``status --json`` prints for it."""
        return {"path": self.path, "state": self.state, "changed": list(self.changed)}


def data_status(
    store: ObjectStore,
    index: StatIndex,
    rel: str,
    full: str,
    pointer: Pointer,
    manifest: Callable[[], list[Entry] | None],
) -> DataStatus:
    """The state of the data at ``full``.

    ``manifest`` reads a folder pointer's manifest (None when it is not in the cache);
    it is not called when the stat index shows the folder unchanged.
    """
    if not store.has(pointer.oid):
        return DataStatus(rel, NOT_IN_CACHE)
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        return _missing(store, rel, pointer, manifest())
    hashes = Hashes(index)
    if pointer.kind == "file":
        if stat.S_ISREG(info.st_mode):
            same = hashes.one(full, info) == pointer.oid
        else:
            same = stat.S_ISLNK(info.st_mode) and store.is_linked(full, pointer.oid)
        return DataStatus(rel, UNCHANGED if same else MODIFIED)
    if not stat.S_ISDIR(info.st_mode):
        return DataStatus(rel, MODIFIED)
    if hashes.unchanged_manifest(full) == pointer.oid:
        return DataStatus(rel, UNCHANGED)
    listing = list_folder(full)
    entries = manifest()
    if entries is None:
        return DataStatus(rel, NOT_IN_CACHE)
    changed = _changed_files(hashes, full, listing, entries, store)
    return DataStatus(rel, MODIFIED if changed else UNCHANGED, tuple(changed))


def _missing(
    store: ObjectStore, rel: str, pointer: Pointer, manifest: list[Entry] | None
) -> DataStatus:
    if manifest is not None and any(not store.has(e.oid) for e in manifest):
        return DataStatus(rel, NOT_IN_CACHE)
    return DataStatus(rel, MISSING)


def _changed_files(
    hashes: Hashes, full: str, listing: Listing, manifest: list[Entry], store: ObjectStore
) -> list[str]:
    """Paths inside the folder that differ from the manifest, sorted.

    A file linked from the cache (``symlink`` link type) counts as its object.
    """
    current = {e.path: e for e in hashes.entries(full, listing.files)}
    wanted = {e.path: e for e in manifest}
    linked = set()
    for rel in listing.skipped:
        entry = wanted.get(rel)
        if entry is not None and store.is_linked(os.path.join(full, rel), entry.oid):
            linked.add(rel)
    changed = [
        path
        for path, entry in wanted.items()
        if path not in linked
        and (
            (have := current.get(path)) is None or have.oid != entry.oid or have.exec != entry.exec
        )
    ]
    changed += [path for path in current if path not in wanted]
    return sorted(changed)
