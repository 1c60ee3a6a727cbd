"""A storage remote opened for a command, and the upkeep of one: fsck, upgrade.

Every command opens a remote here: the record of what it holds is kept in the
state folder, and its layout is checked first (an unknown one is refused before
anything is written).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitexp.core.results import JsonResult
from gitexp.data.targets import storage_config
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
