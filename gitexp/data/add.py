"""``add``: track files and folders by content.

Every path is checked before anything is stored; each is then stored (the stat index
spares unchanged files), its pointer ``PATH.gitexp`` written atomically, and ``PATH``
ignored in git.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from gitexp.cache.add import store_tree
from gitexp.cache.atomic import atomic_write
from gitexp.cache.gitignore import ensure_ignored
from gitexp.cache.locks import storing
from gitexp.cache.scan import OnFile
from gitexp.core.pointer import pointer_path
from gitexp.core.results import JsonResult
from gitexp.data.paths import check_add_paths
from gitexp.data.status import Workspace
from gitexp.errors import NotFoundError
from gitexp.project import Project

OnPath = Callable[[str, str], None]
"""Called with (data path, file inside it) as work progresses."""


@dataclass(frozen=True, slots=True)
class Added(JsonResult):
    """One path ``add`` tracked: its pointer and what it holds.

    ``changed``: the pointer was written (new or different data); ``skipped``: links
    and special files inside a folder, not data; ``gitignore``: the ``.gitignore``
    changed to ignore the data, if one was.
    """

    path: str
    pointer: str
    hash: str
    size: int
    kind: str
    files: int | None
    changed: bool
    skipped: tuple[str, ...]
    gitignore: str | None

    def to_json(self) -> dict[str, object]:
        """The object ``add --json`` prints for it."""
        doc = asdict(self)
        doc["skipped"] = list(self.skipped)
        return doc


def add(
    project: Project,
    paths: Sequence[str],
    cwd: str | os.PathLike[str] = ".",
    on_file: OnPath | None = None,
) -> list[Added]:
    """Track each path by content; one result per path, in the order given.

    Raises `PathError` (outside the repository, ``.git``, tracked by git, inside
    tracked data, a link), `NotFoundError` (no such path, or removed while being
    added) or `ConflictError` (changed while being read) before writing its pointer.
    """
    rels = check_add_paths(project, paths, cwd)
    results = []
    with Workspace.open(project) as ws, storing(ws.store.root):
        for rel in rels:
            results.append(_add_one(ws, rel, on_file))
    return results


def _add_one(ws: Workspace, rel: str, on_file: OnPath | None) -> Added:
    full = ws.full(rel)
    notify: OnFile | None = (lambda inner: on_file(rel, inner)) if on_file else None
    try:
        stored = store_tree(ws.store, full, ws.index, on_file=notify, jobs=ws.project.local.jobs)
    except FileNotFoundError as exc:
        raise NotFoundError(
            f"'{rel}' (or a file in it) was removed while gitexp was adding it; "
            f"nothing was recorded for '{rel}'",
            hint=f"run `gitexp add {rel}` again once the data is in place",
        ) from exc
    ws.index.flush()
    pointer = stored.pointer
    target = ws.project.root / pointer_path(rel)
    data = pointer.dump()
    changed = not target.is_file() or target.read_bytes() != data
    if changed:
        atomic_write(target, data)
    ignore = ensure_ignored(Path(full))
    return Added(
        path=rel,
        pointer=pointer_path(rel),
        hash=str(pointer.oid),
        size=pointer.size,
        kind=pointer.kind,
        files=pointer.files,
        changed=changed,
        skipped=tuple(stored.skipped),
        gitignore=ignore.relative_to(ws.project.root).as_posix() if ignore else None,
    )
