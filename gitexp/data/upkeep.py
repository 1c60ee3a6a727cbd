"""Keeping the cache honest: ``gc`` drops what nothing needs, ``fsck`` verifies the rest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from gitexp.cache.compact import Compaction, check_compacted
from gitexp.cache.fsck import check_objects
from gitexp.cache.gc import sweep
from gitexp.cache.locks import sweeping
from gitexp.core.hashing import Oid
from gitexp.core.results import JsonResult
from gitexp.data.compaction import compact_cache
from gitexp.data.pointers import GcScope, kept_pointers, needed_objects, workspace_pointers
from gitexp.data.status import Workspace
from gitexp.data.sync import ProgressFn
from gitexp.errors import GitexpError
from gitexp.project import Project


@dataclass(frozen=True, slots=True)
class GcResult(JsonResult):
    """What ``gitexp gc`` removed (or, with ``dry_run``, would remove) and kept.

    ``recent``: objects kept only because they were written in the last hour;
    ``missing_manifests``: folder manifests not in the cache, whose files could not
    be told apart from garbage (so they were not kept).
    """

    dry_run: bool
    removed: int
    freed_bytes: int
    kept: int
    recent: int
    commits: int
    objects: tuple[str, ...]
    missing_manifests: tuple[str, ...]
    compacted: int = 0
    """With ``compact``: files now kept as chunks (or, in a dry run, that would be)."""
    compacted_bytes: int = 0
    """What those files took whole."""
    compacted_into: int = 0
    """What they take as chunks: the new chunks and their lists."""
    corrupt: tuple[str, ...] = ()
    """Big objects compaction left whole because their bytes do not match their id."""

    def to_json(self) -> dict[str, object]:
        """The ``gc --json`` document."""
        doc = asdict(self)
        doc["objects"] = list(self.objects)
        doc["missing_manifests"] = list(self.missing_manifests)
        doc["corrupt"] = list(self.corrupt)
        return doc


@dataclass(frozen=True, slots=True)
class FsckResult(JsonResult):
    """What ``gitexp fsck`` found: objects checked, corrupt ones moved aside, data lacking.

    ``corrupt``: (hash, where it was moved); ``missing``: (data path, the objects it
    needs that the cache lacks).
    """

    checked: int
    corrupt: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, tuple[str, ...]], ...]

    def to_json(self) -> dict[str, object]:
        """The ``fsck --json`` document."""
        return {
            "checked": self.checked,
            "corrupt": [{"hash": h, "moved_to": to} for h, to in self.corrupt],
            "missing": [{"path": p, "objects": list(o)} for p, o in self.missing],
        }


def gc(
    project: Project,
    scope: GcScope,
    *,
    dry_run: bool = False,
    now: bool = False,
    notify: Callable[[str], None] | None = None,
    compact: bool = False,
    progress: ProgressFn | None = None,
) -> GcResult:
    """Remove cache objects that no kept pointer needs; what was (or would be) freed.

    Without options everything any ref or the workspace needs is kept; ``workspace``,
    ``all_branches`` and ``experiments`` narrow that to what they name (the workspace's
    data is always kept). Objects written in the last hour are kept unless ``now``.
    (The API removes the worktrees of runs killed outright first, not in a dry run.)
    Commands still storing objects are waited for, and those objects kept (`sweeping`).
    With ``compact``, big objects that remain and that no working tree needs are then
    kept as chunks (`gitexp.data.compaction`), told to ``progress`` (phase ``"compact"``).
    Raises `FormatError` if a workspace pointer cannot be read: then nothing is removed.
    """
    with Workspace.open(project) as ws:
        with sweeping(ws.store.root, _waiting(notify)):
            kept, commits = kept_pointers(project, scope)
            keep, missing = needed_objects(ws.store, kept)
            result = sweep(ws.store, keep, dry_run=dry_run, now=now)
        packed = Compaction()
        if compact:  # the store lock is taken again for one object at a time
            packed = compact_cache(
                project, ws.store, result.removed, dry_run=dry_run, progress=progress
            )
    return GcResult(
        dry_run=dry_run,
        removed=len(result.removed),
        freed_bytes=result.freed_bytes,
        kept=result.kept,
        recent=result.recent,
        commits=commits,
        objects=tuple(str(o) for o in result.removed),
        missing_manifests=tuple(str(o) for o in missing),
        compacted=len(packed.compacted),
        compacted_bytes=packed.whole_bytes,
        compacted_into=packed.stored_bytes,
        corrupt=tuple(str(o) for o in packed.corrupt),
    )


def _waiting(notify: Callable[[str], None] | None) -> Callable[[], None]:
    def say() -> None:
        if notify is not None:
            notify("waiting for commands that are storing data (add, run, pull) to finish")

    return say


def fsck(
    project: Project, *, jobs: int | None = None, on_object: Callable[[Oid], None] | None = None
) -> FsckResult:
    """Re-hash every cache object; move corrupt ones aside; list what the workspace lacks.

    A compacted object is verified by its chunks (each chunk's hash, then the
    object's id over them, streamed; several objects at once), never made whole; a
    corrupt chunk, or the list of an object that does not reassemble, is moved aside.

    ``missing`` names, per workspace data path, the objects it needs that are not in
    the cache (after corrupt ones were moved aside).
    """
    with Workspace.open(project) as ws:
        jobs = jobs or project.local.jobs
        check = check_objects(ws.store, jobs=jobs, on_object=on_object)
        listed = check_compacted(ws.store, on_object=on_object, jobs=jobs)
        check.corrupt += listed.corrupt
        missing: list[tuple[str, tuple[str, ...]]] = []
        for rel, pointer in sorted(workspace_pointers(project).items()):
            try:
                needed, absent_manifests = needed_objects(ws.store, [pointer])
            except GitexpError:
                needed, absent_manifests = {pointer.oid}, [pointer.oid]
            absent = sorted(str(o) for o in needed if not ws.store.has(o))
            absent += [str(o) for o in absent_manifests if str(o) not in absent]
            if absent:
                missing.append((rel, tuple(absent)))
    return FsckResult(
        checked=check.checked + listed.checked,
        corrupt=tuple((str(o), str(p)) for o, p in check.corrupt),
        missing=tuple(missing),
    )
