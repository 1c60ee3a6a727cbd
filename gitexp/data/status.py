"""The state of the workspace's data (``status``), with as little loaded as possible.

``status`` runs often (prompts, editors, scripts), so this module imports only what
reading pointers, the stat index and the cache needs; adding and checking out data
live in `gitexp.data.checkout`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from gitexp.cache.objects import ObjectStore
from gitexp.cache.statindex import StatIndex
from gitexp.cache.status import DataStatus, data_status
from gitexp.core.manifest import Entry
from gitexp.core.pointer import Pointer
from gitexp.core.results import JsonResult
from gitexp.data.pointers import read_manifest, workspace_pointers
from gitexp.errors import NotFoundError
from gitexp.project import Project


@dataclass
class Workspace:
    """A project with its object store and stat index open."""

    project: Project
    index: StatIndex
    store: ObjectStore

    @classmethod
    def open(cls, project: Project) -> Workspace:
        """Open the stat index and the object store of ``project``."""
        index = project.stat_index()
        return cls(project, index, project.store(index))

    def close(self) -> None:
        """Write what the stat index buffered and close it."""
        self.index.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def full(self, rel: str) -> str:
        """The absolute path of a repository-relative path."""
        return str(self.project.root / rel)


@dataclass(frozen=True, slots=True)
class StatusResult(JsonResult):
    """``gitexp status``: the state of each tracked data path, sorted by path."""

    data: tuple[DataStatus, ...]

    def to_json(self) -> dict[str, object]:
        """The ``status --json`` document."""
        return {"data": [line.to_json() for line in self.data]}


def status(project: Project) -> StatusResult:
    """Each workspace pointer's state, sorted by data path."""
    pointers = workspace_pointers(project)
    lines = []
    with Workspace.open(project) as ws:
        for rel, pointer in sorted(pointers.items()):
            manifest = functools.partial(_manifest_or_none, ws.store, pointer)
            lines.append(data_status(ws.store, ws.index, rel, ws.full(rel), pointer, manifest))
    return StatusResult(tuple(lines))


def _manifest_or_none(store: ObjectStore, pointer: Pointer) -> list[Entry] | None:
    if pointer.kind != "dir":
        return None
    try:
        return read_manifest(store, pointer)
    except NotFoundError:
        return None
