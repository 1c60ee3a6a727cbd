"""The tracked data of a run in a worktree: checked for first, then brought from the cache.

A worktree has the pointer files of its commit but none of the data (git ignores it),
and git hooks, installed or not, are not run there. So before any point runs,
`check_data` makes sure the cache holds every object the pointers need (storing the
workspace's copy when only the workspace has it), and `bring_data` then writes each
worktree's data from the cache with the user's link type, as ``gitexp checkout``
would. The stat index is not told of these files: the worktree is gone soon after.
"""

from __future__ import annotations

from pathlib import Path

from gitexp.cache.add import store_tree
from gitexp.cache.checkout import apply_plan, plan_checkout
from gitexp.cache.gitignore import ensure_ignored
from gitexp.cache.links import Linker
from gitexp.cache.locks import storing
from gitexp.cache.objects import ObjectStore
from gitexp.core.manifest import Entry
from gitexp.core.pointer import Pointer
from gitexp.data.paths import check_inside
from gitexp.data.pointers import read_manifest
from gitexp.data.status import Workspace
from gitexp.errors import NotFoundError
from gitexp.git.repo import GitRepo
from gitexp.project import Project


def check_data(project: Project, pointers: dict[str, Pointer]) -> None:
    """Make sure the cache holds all the data of ``pointers``, before anything runs.

    Data the cache lacks but the workspace holds, unchanged, is stored in the cache.
    Raises `NotFoundError` naming the data that is nowhere to be found.
    """
    missing: list[str] = []
    with Workspace.open(project) as ws:
        for rel, pointer in sorted(pointers.items()):
            if not _in_cache(ws.store, pointer) and not _store_from_workspace(ws, rel, pointer):
                missing.append(rel)
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise NotFoundError(
            f"the data of '{missing[0]}'{more} is not in the cache, so runs in worktrees "
            "cannot have it; nothing was run",
            hint="run `gitexp pull` to fetch it from the storage remote, then run again",
        )


def _in_cache(store: ObjectStore, pointer: Pointer) -> bool:
    if not store.has(pointer.oid):
        return False
    if pointer.kind != "dir":
        return True
    try:
        entries = read_manifest(store, pointer)
    except NotFoundError:
        return False
    return all(store.has(e.oid) for e in entries)


def _store_from_workspace(ws: Workspace, rel: str, pointer: Pointer) -> bool:
    """Store the workspace's copy of ``rel`` if it is what ``pointer`` names."""
    full = ws.project.root / rel
    if not full.exists():
        return False
    check_inside(ws.project, rel)
    stored = store_tree(ws.store, full, ws.index, jobs=ws.project.local.jobs)
    ws.index.flush()
    return stored.pointer.oid == pointer.oid


def bring_data(project: Project, worktree: GitRepo, pointers: dict[str, Pointer]) -> int:
    """Write the data of ``pointers`` into ``worktree`` from the cache; files written.

    Files are linked or copied as the user's link config says (read-only when
    linked). A data path that git does not ignore there gets its ``.gitignore`` line,
    as a checkout in the workspace would; normally the line is in the commit already.
    Raises `NotFoundError` for data the cache lacks (see `check_data`),
    `IntegrityError` for a corrupt object and `PathError` for a path that leads
    outside the worktree.
    """
    place = Project(worktree, project.config, project.local)
    written = 0
    with Workspace.open(project) as ws, storing(ws.store.root):  # no gc drops what is linked
        linker = Linker(ws.store, project.local.link, project.local.jobs)
        for rel, pointer in sorted(pointers.items()):
            check_inside(place, rel)
            full = str(worktree.root / rel)
            plan = plan_checkout(ws.store, ws.index, rel, full, pointer, _target(ws, pointer))
            if plan.needed:
                written += apply_plan(plan, linker)
            if not worktree.repo.path_is_ignored(rel):
                ensure_ignored(Path(full))
    return written


def _target(ws: Workspace, pointer: Pointer) -> list[Entry]:
    if pointer.kind == "dir":
        return read_manifest(ws.store, pointer)
    return [Entry("", pointer.oid, pointer.size, False)]
