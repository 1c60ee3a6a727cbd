"""Data left behind in the workspace when git moves a pointer file away.

git removes the files it tracks when a checkout leaves them behind, but tracked data
is ignored by git, not tracked: after a switch to a branch without its pointer file the
data stays, untracked, and a ``git add -A`` or a run would take it into git. So:

- `remove_stale_data` (the post-checkout, post-merge and post-rewrite hooks) removes
  the data of a pointer file that is gone when the cache holds every file of it (same
  hash, same size), so nothing is lost, as nothing is when git removes its files;
  data the cache lacks is left alone and listed, for a warning.
- `LeftoverData` (a run, with or without hooks) says which untracked paths are such
  data: a path for which HEAD or a local branch tip has a pointer file (for it or a
  folder above it), written before the run started. One tree lookup per branch and
  path prefix, memoized, and only for untracked files; the run leaves them out of
  the experiment and says so in a note.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import pygit2

from gitexp.cache.objects import ObjectStore
from gitexp.cache.scan import Hashes, WorkspaceFile, list_folder
from gitexp.core.hashing import Oid
from gitexp.core.pointer import SUFFIX, pointer_path, unsafe_reason
from gitexp.data.paths import check_inside
from gitexp.data.status import Workspace
from gitexp.errors import PathError
from gitexp.git.repo import GitRepo
from gitexp.project import Project


def remove_stale_data(project: Project, paths: Iterable[str]) -> dict[str, list[str]]:
    """Remove the data at ``paths`` whose pointer file is gone, when the cache holds it.

    A path is left alone when its pointer file (or one of a folder above it) is there,
    when git tracks a file at or under it, when it is unsafe or reached through a link,
    and when any file in it is not in the cache (listed under ``kept``). Returns
    ``removed`` and ``kept`` data paths.
    """
    removed: list[str] = []
    kept: list[str] = []
    candidates = sorted(rel for rel in dict.fromkeys(paths) if _stale(project, rel))
    if not candidates:
        return {"removed": removed, "kept": kept}
    with Workspace.open(project) as ws:
        for rel in candidates:
            if _remove_if_cached(ws, rel):
                removed.append(rel)
            else:
                kept.append(rel)
    return {"removed": removed, "kept": kept}


def _stale(project: Project, rel: str) -> bool:
    """Whether ``rel`` is data that no pointer file names any more and git does not track."""
    if unsafe_reason(rel) is not None or not os.path.lexists(project.root / rel):
        return False
    parts = rel.split("/")
    for depth in range(1, len(parts) + 1):
        if (project.root / pointer_path("/".join(parts[:depth]))).exists():
            return False
    try:
        check_inside(project, rel)
    except PathError:
        return False
    index = project.git.repo.index
    return rel not in index and not any(e.path.startswith(rel + "/") for e in index)


def _remove_if_cached(ws: Workspace, rel: str) -> bool:
    """Unlink exactly the files found in the cache; False, with nothing removed, if one is not."""
    full = ws.full(rel)
    info = os.lstat(full)
    if stat.S_ISDIR(info.st_mode):
        listing = list_folder(full)
        if listing.skipped and not all(
            _links_to_cache(ws.store, os.path.join(full, s)) for s in listing.skipped
        ):
            return False
        files = listing.files
        oids = [e.oid for e in Hashes(ws.index).entries(full, files)]
        victims = [f.full for f in files] + [os.path.join(full, s) for s in listing.skipped]
    elif stat.S_ISLNK(info.st_mode):
        return _links_to_cache(ws.store, full) and _unlink([full], full)
    elif stat.S_ISREG(info.st_mode):
        files = [WorkspaceFile("", full, info)]
        oids = [Hashes(ws.index).one(full, info)]
        victims = [full]
    else:
        return False
    if not all(_cached(ws.store, oid, f) for oid, f in zip(oids, files, strict=True)):
        return False
    return _unlink(victims, full)


def _cached(store: ObjectStore, oid: Oid, item: WorkspaceFile) -> bool:
    try:
        return os.stat(store.path(oid)).st_size == item.info.st_size
    except (FileNotFoundError, NotADirectoryError):
        return False


def _links_to_cache(store: ObjectStore, full: str) -> bool:
    """A link made by the ``symlink`` link type: to an object that is in the cache."""
    try:
        target = Path(os.readlink(full))
    except OSError:
        return False
    return target.is_absolute() and store.root in target.parents and target.is_file()


def _unlink(victims: list[str], top: str) -> bool:
    for victim in victims:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(victim)
    if os.path.isdir(top) and not os.path.islink(top):
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            with contextlib.suppress(OSError):  # not empty: something new appeared there
                os.rmdir(dirpath)
    return True


class LeftoverData:
    """Which untracked paths are data that HEAD or a local branch tracks by pointer.

    Called with each untracked file's path; remembers the data paths it matched
    (``found``) so that a folder left behind is named once. With ``started`` (the
    run's ISO 8601 start), a file written since then is the run's own output, not a
    leftover, and is kept.
    """

    def __init__(self, git: GitRepo, started: str | None = None) -> None:
        self._root = git.root
        self._trees = _tip_trees(git)
        self._memo: dict[str, bool] = {}
        self._since = _timestamp(started)
        self.found: set[str] = set()

    def __call__(self, path: str) -> bool:
        """Whether ``path`` is (inside) such data, and older than the run."""
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            head = "/".join(parts[:depth])
            if self._tracked(head):
                if self._written_by_run(path):
                    return False
                self.found.add(head)
                return True
        return False

    def _written_by_run(self, path: str) -> bool:
        if self._since is None:
            return False
        try:
            return os.lstat(self._root / path).st_mtime >= self._since
        except FileNotFoundError:
            return False

    def _tracked(self, head: str) -> bool:
        known = self._memo.get(head)
        if known is None:
            known = self._memo[head] = any(_has_blob(t, head + SUFFIX) for t in self._trees)
        return known


def _timestamp(started: str | None) -> float | None:
    if not started:
        return None
    try:
        return datetime.fromisoformat(started.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _tip_trees(git: GitRepo) -> list[pygit2.Tree]:
    trees: dict[str, pygit2.Tree] = {}
    tips = [] if git.repo.head_is_unborn else [git.repo.head.target]
    tips += [ref.target for ref in git.repo.references.iterator() if _is_branch(ref)]
    for tip in tips:
        with contextlib.suppress(KeyError, ValueError, pygit2.InvalidSpecError):
            commit = git.repo[tip].peel(pygit2.Commit)
            trees.setdefault(str(commit.tree_id), commit.tree)
    return list(trees.values())


def _is_branch(ref: pygit2.Reference) -> bool:
    return ref.name.startswith("refs/heads/") and ref.type == pygit2.enums.ReferenceType.DIRECT


def _has_blob(tree: pygit2.Tree, path: str) -> bool:
    try:
        return tree[path].type_str == "blob"
    except KeyError:
        return False
