"""A storage remote opened for a command, and the upkeep of one: fsck, upgrade, gc.

Every command opens a remote here: the record of what it holds is kept in the
state folder, and its layout is checked first (an unknown one is refused before
anything is written).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitexp.core.results import JsonResult
from gitexp.data.pointers import GcScope, kept_pointers, needed_objects
from gitexp.data.status import Workspace
from gitexp.data.targets import storage_config
from gitexp.errors import NotFoundError
from gitexp.project import Project
from gitexp.storage.backend import Backend, ReadOnlyError
from gitexp.storage.layout import LOOSE, PACKED, layout_for_writing, read_layout
from gitexp.storage.open import open_backend


def open_storage(
    project: Project, name: str | None, env: Mapping[str, str], *, writing: bool
) -> tuple[Backend, int]:
    """Storage remote ``name`` (None: the default), keeping its record, and its layout.

    Writing to a new, empty remote makes it layout 2. Raises `NotFoundError` for an
    unknown remote and `LayoutError` (nothing written) for a layout this gitexp does
    not know. The caller closes the backend (which saves the record).
    """
    backend = open_backend(
        storage_config(project, name), project.root, env, records=project.layout.remote_objects
    )
    try:
        writable = writing and not backend.read_only
        layout = layout_for_writing(backend) if writable else read_layout(backend)
    except BaseException:
        backend.close()
        raise
    return backend, layout


@dataclass(frozen=True, slots=True)
class RemoteFsckResult(JsonResult):
    """What ``gitexp fsck --remote`` found: counts by kind and each fault by key.

    ``unfinished``: packs without an index (an interrupted push; not a fault).
    """

    remote: str
    layout: int
    packs: int
    objects: int
    chunk_lists: int
    unfinished: int
    faults: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, object]:
        """The ``fsck --remote --json`` document."""
        doc = {k: getattr(self, k) for k in self.__slots__ if k != "faults"}
        doc["faults"] = [{"key": key, "problem": what} for key, what in self.faults]
        return doc


def fsck_remote(
    project: Project, name: str | None, env: Mapping[str, str], jobs: int | None
) -> RemoteFsckResult:
    """Read back and verify everything storage remote ``name`` holds (nothing is written)."""
    from gitexp.storage.verify import verify_remote

    backend, layout = open_storage(project, name, env, writing=False)
    try:
        found = verify_remote(backend, jobs or backend.default_jobs)
        where = backend.describe()
    finally:
        backend.close()
    return RemoteFsckResult(
        where,
        layout,
        found.packs,
        found.objects,
        found.chunk_lists,
        found.unfinished,
        tuple(found.faults),
    )


@dataclass(frozen=True, slots=True)
class UpgradeResult(JsonResult):
    """What ``gitexp remote upgrade`` did: the layouts before and after, objects packed."""

    remote: str
    before: int
    after: int
    packed: int

    def to_json(self) -> dict[str, object]:
        """The ``remote upgrade --json`` document."""
        return {k: getattr(self, k) for k in self.__slots__}


def upgrade_remote(
    project: Project, name: str, env: Mapping[str, str], jobs: int | None
) -> UpgradeResult:
    """Move storage remote ``name`` to layout 2; idempotent (see `gitexp.storage.upgrade`).

    Raises `ReadOnlyError` for a remote gitexp cannot write.
    """
    from gitexp.storage.upgrade import upgrade

    backend, layout = open_storage(project, name, env, writing=False)
    try:
        if backend.read_only:
            raise ReadOnlyError(
                f"storage remote {backend.describe()} is read-only: it cannot be upgraded",
                hint="upgrade it where it is written (a folder, s3://, gs://, az:// or ssh://)",
            )
        packed = upgrade(backend, jobs or backend.default_jobs) if layout == LOOSE else 0
        where = backend.describe()
    finally:
        backend.close()
    return UpgradeResult(where, layout, PACKED, packed)


@dataclass(frozen=True, slots=True)
class RemoteGcResult(JsonResult):
    """What ``gitexp gc --remote`` did (or, with ``dry_run``, would do).

    ``removed``: keys removed now (plans older than the grace period, or ``now``);
    ``planned``: keys newly marked, to go in a later gc; ``waiting``: keys marked,
    not yet removed; ``kept``: keys something needs; ``repacked``: sparse packs whose
    needed objects were copied into new packs (``copied_bytes``), the old ones marked.
    """

    remote: str
    dry_run: bool
    removed: tuple[str, ...]
    freed_bytes: int
    planned: int
    waiting: int
    kept: int
    repacked: int = 0
    copied_bytes: int = 0

    def to_json(self) -> dict[str, object]:
        """The ``gc --remote --json`` document."""
        doc = {k: getattr(self, k) for k in self.__slots__}
        doc["removed"] = list(self.removed)
        return doc


def gc_remote(
    project: Project,
    name: str,
    env: Mapping[str, str],
    scope: GcScope,
    *,
    dry_run: bool = False,
    now: bool = False,
) -> RemoteGcResult:
    """Mark, and after the grace period remove, what no kept pointer needs on remote ``name``.

    The same reachability as local gc (``scope``). Raises `NotFoundError` (nothing
    removed) when folder manifests the kept data needs are not in the cache, since
    the files they list could not be told apart from garbage; `ReadOnlyError` for a
    remote gitexp cannot write.
    """
    from gitexp.storage.sweep import sweep_remote

    with Workspace.open(project) as ws:
        kept, _commits = kept_pointers(project, scope)
        keep, missing = needed_objects(ws.store, kept)
    if missing:
        raise NotFoundError(
            f"{len(missing)} folder manifest(s) the kept data needs are not in the cache "
            f"(first: {missing[0]}); nothing was removed from the storage remote",
            hint="pull them first (`gitexp pull --all`), then run `gitexp gc --remote` again",
        )
    backend, _layout = open_storage(project, name, env, writing=False)
    try:
        if backend.read_only:
            raise ReadOnlyError(f"storage remote {backend.describe()} is read-only")
        swept = sweep_remote(backend, keep, dry_run=dry_run, now=now)
        where = backend.describe()
    finally:
        backend.close()
    return RemoteGcResult(
        where,
        dry_run,
        tuple(swept.removed),
        swept.freed_bytes,
        len(swept.planned),
        swept.waiting,
        swept.kept,
        swept.repacked,
        swept.copied_bytes,
    )
