"""``checkout``: make the workspace's data match its pointers.

Every pointer is planned first; checkout refuses, before writing anything, to
overwrite data the cache does not hold, unless forced: then it stores that data
first and says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitexp.cache.checkout import Plan, apply_plan, missing_objects, plan_checkout
from gitexp.cache.gitignore import ensure_ignored
from gitexp.cache.links import Linker
from gitexp.cache.locks import storing
from gitexp.cache.objects import ObjectStore
from gitexp.core.manifest import Entry
from gitexp.core.pointer import SUFFIX, Pointer, data_path, pointer_path
from gitexp.core.results import JsonResult
from gitexp.data.paths import check_inside, select_pointers
from gitexp.data.pointers import read_manifest, workspace_pointers
from gitexp.data.status import Workspace
from gitexp.errors import NotFoundError, PathError, UncommittedChangesError
from gitexp.project import Project

OnPath = Callable[[str, str], None]
"""Called with (data path, file inside it) as work progresses."""


@dataclass(frozen=True, slots=True)
class Saved:
    """Data a forced checkout stored in the cache before overwriting it."""

    path: str
    hash: str


@dataclass(frozen=True, slots=True)
class Missing:
    """Data left as it was because the cache lacks these objects of it."""

    path: str
    objects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CheckoutResult(JsonResult):
    """What ``gitexp checkout`` did: data paths written or unchanged, files written.

    ``saved``: what ``force`` stored before overwriting it; ``missing``: data whose
    objects the cache lacks, left as it was.
    """

    written: tuple[str, ...]
    files: int
    unchanged: tuple[str, ...]
    saved: tuple[Saved, ...]
    missing: tuple[Missing, ...]

    def to_json(self) -> dict[str, object]:
        """The ``checkout --json`` document."""
        return {
            "written": list(self.written),
            "files": self.files,
            "unchanged": list(self.unchanged),
            "saved": [{"path": s.path, "hash": s.hash} for s in self.saved],
            "missing": [{"path": m.path, "objects": list(m.objects)} for m in self.missing],
        }


def checkout(
    project: Project,
    paths: Sequence[str] = (),
    *,
    force: bool = False,
    cwd: str | os.PathLike[str] = ".",
    on_file: OnPath | None = None,
    notify: Callable[[str], None] | None = None,
) -> CheckoutResult:
    """Make the workspace's data match its pointers (all, or those under ``paths``).

    ``notify`` is told when the checkout waits for a ``gc`` that holds the cache.

    Raises `UncommittedChangesError`, before writing anything, when data that the
    cache does not hold would be overwritten or deleted, unless ``force``: then that
    data is stored first and listed under ``saved``. Pointers whose objects are not in
    the cache are skipped and listed under ``missing``; the rest is checked out.
    """
    pointers = select_pointers(project, lambda: workspace_pointers(project), paths, cwd)
    return checkout_pointers(project, pointers, force=force, on_file=on_file, notify=notify)


def data_at_risk(project: Project, pointers: dict[str, Pointer]) -> list[str]:
    """Files that checking out ``pointers`` would overwrite or delete, not in the cache.

    Nothing is written.
    """
    with Workspace.open(project) as ws:
        plans, _missing = _plans(ws, pointers)
    return [f"{p.rel}/{i.rel}" if i.rel else p.rel for p in plans for i in p.at_risk]


def checkout_pointers(
    project: Project,
    pointers: dict[str, Pointer],
    *,
    force: bool = False,
    on_file: OnPath | None = None,
    notify: Callable[[str], None] | None = None,
) -> CheckoutResult:
    """`checkout` of exactly ``pointers`` (data path → pointer), wherever they come from.

    Holds the store lock shared (`storing`), as commands that store objects do: a
    ``gc`` (which holds it exclusive) can then neither remove nor compact an object
    between the moment it is found whole here and the moment a file links to it.
    """
    with Workspace.open(project) as ws, storing(ws.store.root, _waiting(notify)):
        plans, missing = _plans(ws, pointers)
        saved = _protect(ws, plans, force)
        linker = Linker(ws.store, project.local.link, project.local.jobs)
        written: list[str] = []
        files = 0
        for plan in plans:
            if plan.needed:
                try:
                    files += apply_plan(plan, linker, ws.index, on_file)
                except NotFoundError:
                    absent = [e for e in plan.target if not ws.store.has(e.oid)]
                    missing.append(Missing(plan.rel, tuple(sorted({str(e.oid) for e in absent}))))
                    continue
                written.append(plan.rel)
            ensure_ignored(Path(plan.full))
    return CheckoutResult(
        written=tuple(written),
        files=files,
        unchanged=tuple(p.rel for p in plans if not p.needed),
        saved=tuple(saved),
        missing=tuple(missing),
    )


def _waiting(notify: Callable[[str], None] | None) -> Callable[[], None] | None:
    if notify is None:
        return None
    return lambda: notify("waiting for a gc that holds the cache to finish")


def _plans(ws: Workspace, pointers: dict[str, Pointer]) -> tuple[list[Plan], list[Missing]]:
    plans: list[Plan] = []
    missing: list[Missing] = []
    for rel, pointer in sorted(pointers.items()):
        full = ws.full(rel)
        check_inside(ws.project, rel)
        if pointer.kind == "dir":
            try:
                target = read_manifest(ws.store, pointer)
            except NotFoundError:
                missing.append(Missing(rel, (str(pointer.oid),)))
                continue
        else:
            target = [Entry("", pointer.oid, pointer.size, False)]
        plan = plan_checkout(ws.store, ws.index, rel, full, pointer, target)
        absent = missing_objects(ws.store, plan) if plan.needed else []
        if absent:
            missing.append(Missing(rel, tuple(sorted({str(e.oid) for e in absent}))))
            continue
        if pointer.kind == "file":
            _check_size(ws.store, rel, pointer)
        _check_not_git_files(ws.project, plan)
        plans.append(plan)
    return plans, missing


def _check_not_git_files(project: Project, plan: Plan) -> None:
    """`PathError` when the plan would overwrite a file git tracks that the cache lacks.

    Such a file is the user's, not gitexp's: a pointer that names it (crafted, or
    added beside a file git took over) is refused whatever the options, so no message
    ever offers ``--force`` over it.
    """
    if not plan.at_risk:
        return
    index = project.git.repo.index
    for item in plan.at_risk:
        name = f"{plan.rel}/{item.rel}" if item.rel else plan.rel
        if name in index:
            where = pointer_path(plan.rel)
            raise PathError(
                f"{where}: its data path '{plan.rel}' holds '{name}', a file git tracks; "
                "gitexp will not overwrite it",
                hint=f"remove {where} or restore it from a commit you trust",
            )


def _check_size(store: ObjectStore, rel: str, pointer: Pointer) -> None:
    from gitexp.errors import FormatError

    store.restore(pointer.oid)  # a compacted object is made whole: it is about to be used
    size = os.stat(store.path(pointer.oid)).st_size
    if size != pointer.size:
        raise FormatError(
            f"pointer '{pointer_path(rel)}' says {pointer.size} bytes, but its object "
            f"{pointer.oid} has {size}",
            hint="the pointer was edited or is corrupt; restore it with git",
        )


def _protect(ws: Workspace, plans: list[Plan], force: bool) -> list[Saved]:
    """Refuse over data only the workspace holds; with ``force``, store it first."""
    at_risk = [(plan, item) for plan in plans for item in plan.at_risk]
    if not at_risk:
        return []
    names = [f"{plan.rel}/{item.rel}" if item.rel else plan.rel for plan, item in at_risk]
    if not force:
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise UncommittedChangesError(
            f"checkout would overwrite data that is not in the cache: {shown}",
            hint="run `gitexp add` on it to keep it, or pass --force to store it in the cache "
            "and check out anyway",
        )
    saved = []
    for name, (_plan, item) in zip(names, at_risk, strict=True):
        try:
            oid, _size = ws.store.put_file(item.full, item.info)
        except FileNotFoundError:
            continue
        saved.append(Saved(name, str(oid)))
    ws.index.flush()
    return saved


def data_paths_of(pointer_files: Sequence[str]) -> list[str]:
    """The data paths of pointer files (others are left out)."""
    return [data_path(p) for p in pointer_files if p.endswith(SUFFIX)]
