"""Keeping the cache honest: ``gc`` drops what nothing needs, ``fsck`` verifies the rest."""

from __future__ import annotations

from collections.abc import Callable

from gitexp.cache.fsck import check_objects
from gitexp.cache.gc import sweep
from gitexp.cache.locks import sweeping
from gitexp.core.hashing import Oid
from gitexp.data.pointers import GcScope, kept_pointers, needed_objects, workspace_pointers
from gitexp.data.status import Workspace
from gitexp.errors import GitexpError
from gitexp.project import Project


def gc(
    project: Project,
    *,
    workspace: bool = False,
    all_branches: bool = False,
    experiments: bool = False,
    dry_run: bool = False,
    now: bool = False,
    notify: Callable[[str], None] | None = None,
) -> dict[str, object]:
    """Remove cache objects that no kept pointer needs; what was (or would be) freed.

    Without options everything any ref or the workspace needs is kept; ``workspace``,
    ``all_branches`` and ``experiments`` narrow that to what they name (the workspace's
    data is always kept). Objects written in the last hour are kept unless ``now``.
    Worktrees left by runs killed outright are removed first (not in a dry run).
    Commands still storing objects are waited for, and those objects kept (`sweeping`).
    Raises `FormatError` if a workspace pointer cannot be read: then nothing is removed.
    """
    scope = GcScope.narrowed(
        workspace=workspace, all_branches=all_branches, experiments=experiments
    )
    with Workspace.open(project) as ws, sweeping(ws.store.root, _waiting(notify)):
        kept, commits = kept_pointers(project, scope)
        keep, missing = needed_objects(ws.store, kept)
        result = sweep(ws.store, keep, dry_run=dry_run, now=now)
    return {
        "dry_run": dry_run,
        "removed": len(result.removed),
        "freed_bytes": result.freed_bytes,
        "kept": result.kept,
        "recent": result.recent,
        "commits": commits,
        "objects": [str(o) for o in result.removed],
        "missing_manifests": [str(o) for o in missing],
    }


def _waiting(notify: Callable[[str], None] | None) -> Callable[[], None]:
    def say() -> None:
        if notify is not None:
            notify("waiting for commands that are storing data (add, run, pull) to finish")

    return say


def fsck(
    project: Project, *, jobs: int | None = None, on_object: Callable[[Oid], None] | None = None
) -> dict[str, object]:
    """Re-hash every cache object; move corrupt ones aside; list what the workspace lacks.

    ``missing`` names, per workspace data path, the objects it needs that are not in
    the cache (after corrupt ones were moved aside).
    """
    with Workspace.open(project) as ws:
        check = check_objects(ws.store, jobs=jobs or project.local.jobs, on_object=on_object)
        missing = []
        for rel, pointer in sorted(workspace_pointers(project).items()):
            try:
                needed, absent_manifests = needed_objects(ws.store, [pointer])
            except GitexpError:
                needed, absent_manifests = {pointer.oid}, [pointer.oid]
            absent = sorted(str(o) for o in needed if not ws.store.has(o))
            absent += [str(o) for o in absent_manifests if str(o) not in absent]
            if absent:
                missing.append({"path": rel, "objects": absent})
    return {
        "checked": check.checked,
        "corrupt": [{"hash": str(o), "moved_to": str(p)} for o, p in check.corrupt],
        "missing": missing,
    }
