"""``gitexp model get``: a registered model's bytes, from the cache or the storage remote.

The bytes are those the version's tag names, checked twice: the experiment commit's
pointer must hold the hash the tag recorded, and every object is verified against
its hash as it is pulled and again as it is written out. An output that exists with
other content is not overwritten unless asked: it may be the user's only copy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from gitexp.cache.checkout import apply_plan, plan_checkout
from gitexp.cache.links import Linker
from gitexp.core.manifest import Entry
from gitexp.core.modelrefs import parse_spec
from gitexp.core.pointer import Pointer, pointer_path
from gitexp.core.results import JsonResult
from gitexp.data.pointers import pointers_at, read_manifest
from gitexp.data.status import Workspace
from gitexp.data.sync import Storage, in_cache, pull_pointers
from gitexp.errors import ConflictError, IntegrityError, NotFoundError
from gitexp.experiments.lifecycle.models import ModelVersion, find_version
from gitexp.project import Project


@dataclass(frozen=True, slots=True)
class GetResult(JsonResult):
    """What ``model get`` wrote: which version, where, and whether it came from storage."""

    name: str
    version: int
    output: str
    hash: str
    size: int
    pulled: bool
    written: bool

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "name": self.name,
            "version": self.version,
            "output": self.output,
            "hash": self.hash,
            "size": self.size,
            "pulled": self.pulled,
            "written": self.written,
        }


def get_spec(
    project: Project, spec: str, output: Path | None, storage: Storage, *, force: bool = False
) -> GetResult:
    """`get` for ``NAME``, ``NAME@vN`` or ``NAME:ALIAS`` (see `gitexp.core.modelrefs`)."""
    wanted = parse_spec(spec)
    version = find_version(project.git, wanted.name, wanted.version, wanted.alias)
    return get(project, version, output, storage, force=force)


def get(
    project: Project,
    version: ModelVersion,
    output: Path | None,
    storage: Storage,
    *,
    force: bool = False,
) -> GetResult:
    """Write ``version``'s model to ``output`` (default: its file name in the root).

    Raises `IntegrityError` when the commit's pointer does not hold the hash the tag
    recorded, `NotFoundError` (or `StorageError`) when neither the cache nor the
    storage remote has the bytes, `ConflictError` when ``output`` holds something
    else and ``force`` is not given.
    """
    pointer = _pointer(project, version)
    target = output or project.root / Path(version.path).name
    pulled = False
    if not _complete(project, pointer):
        owner = f"model {version.name} v{version.version}"
        pull_pointers(project, storage, {version.path: pointer}, owner)
        pulled = True
    written = _write(project, pointer, str(target), force)
    return GetResult(
        name=version.name,
        version=version.version,
        output=str(target),
        hash=version.hash,
        size=version.size,
        pulled=pulled,
        written=written,
    )


def _pointer(project: Project, version: ModelVersion) -> Pointer:
    git = project.git
    pointer = pointers_at(git, git.lookup_commit(version.commit).tree).get(version.path)
    if pointer is None:
        raise NotFoundError(
            f"the commit of model '{version.name}' v{version.version} has no pointer "
            f"{pointer_path(version.path)}",
            hint="the tag was not made by `gitexp model register`; register the model again",
        )
    if str(pointer.oid) != version.hash:
        raise IntegrityError(
            f"model '{version.name}' v{version.version}: its tag records {version.hash} but "
            f"its commit's pointer holds {pointer.oid}; nothing was written",
            hint="the tag or the commit was altered; register the model again",
        )
    return pointer


def _complete(project: Project, pointer: Pointer) -> bool:
    """Whether the cache holds every object of ``pointer`` (a folder's files too)."""
    if not in_cache(project, {"model": pointer}):
        return False
    if pointer.kind != "dir":
        return True
    store = project.store()
    try:
        return all(store.has(e.oid) for e in read_manifest(store, pointer))
    except NotFoundError:
        return False


def _write(project: Project, pointer: Pointer, full: str, force: bool) -> bool:
    """Write the model's bytes at ``full`` from the cache; False when already there."""
    with Workspace.open(project) as ws:
        entries = (
            read_manifest(ws.store, pointer)
            if pointer.kind == "dir"
            else [Entry("", pointer.oid, pointer.size, False)]
        )
        plan = plan_checkout(ws.store, ws.index, os.path.basename(full), full, pointer, entries)
        if not plan.needed:
            return False
        if os.path.lexists(full) and not force:
            raise ConflictError(
                f"'{full}' exists and holds something else; nothing was written",
                hint="choose another path with -o, or pass --force to replace it",
            )
        apply_plan(plan, Linker(ws.store, "reflink", project.local.jobs))
    return True
