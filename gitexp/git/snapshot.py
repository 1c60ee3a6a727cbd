"""Snapshot trees: the workspace as it is, written as a git tree from a private index.

The user's index, HEAD, branches and files are never touched: a fresh in-memory index
starts from the baseline tree and takes every modified, deleted and untracked (not
ignored) file from the workspace, then the caller's extra files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import FileStatus

from gitexp.git.repo import GitRepo

Divert = Callable[[str, int], tuple[str, bytes] | None]
"""Called with (path, size) for a new file; may return (pointer path, pointer bytes)."""
LeaveOut = Callable[[str], bool]
"""Called with the path of each untracked file; True leaves it out of the tree."""

_GONE = FileStatus.WT_DELETED | FileStatus.INDEX_DELETED


@dataclass
class Snapshot:
    """A written tree and what went into it besides the baseline."""

    tree: str
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    diverted: dict[str, str] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


def workspace_changes(git: GitRepo) -> dict[str, int]:
    """Paths that differ from HEAD in the index or the workspace, with their status flags.

    Untracked files are listed one by one; ignored files are not listed.
    """
    status = git.repo.status(untracked_files="all", ignored=False)
    return {path: int(flags) for path, flags in status.items() if flags != FileStatus.CURRENT}


def snapshot(
    git: GitRepo,
    base: pygit2.Tree,
    *,
    extra: Mapping[str, bytes] | None = None,
    exclude: Iterable[str] = (),
    drop_dirs: Iterable[str] = (),
    divert: Divert | None = None,
    leave_out: LeaveOut | None = None,
) -> Snapshot:
    """Write the tree of ``base`` plus the workspace's changes plus ``extra`` files.

    ``exclude`` paths (and everything under them) are left out even if the workspace
    has them; ``drop_dirs`` (gitexp's own ``.gitexp/``) hold only ``extra`` files:
    what the baseline or the workspace has there is left out. ``divert`` may replace
    a new file with a pointer file, and ``leave_out`` may leave an untracked file out
    (listed under ``left_out``). Returns the tree id and the paths taken from the
    workspace.
    """
    index = pygit2.Index()
    index.read_tree(base)
    drop_dirs = tuple(drop_dirs)
    for folder in drop_dirs:
        _remove_under(index, folder)
    excluded = tuple(p.rstrip("/") for p in exclude)
    skipped = excluded + tuple(p.rstrip("/") for p in drop_dirs)
    result = Snapshot(tree="")
    for path, flags in sorted(workspace_changes(git).items()):
        if _is_excluded(path, skipped) or flags & FileStatus.CONFLICTED:
            continue
        if leave_out is not None and flags == FileStatus.WT_NEW and leave_out(path):
            result.left_out.append(path)
            continue
        _take(git, index, base, path, flags, divert, result)
    for path, data in (extra or {}).items():
        index.add(pygit2.IndexEntry(path, git.repo.create_blob(data), pygit2.enums.FileMode.BLOB))
    for path in excluded:
        _remove_under(index, path)
        if path in index:
            index.remove(path)
    result.tree = str(index.write_tree(git.repo))
    return result


def _take(
    git: GitRepo,
    index: pygit2.Index,
    base: pygit2.Tree,
    path: str,
    flags: int,
    divert: Divert | None,
    result: Snapshot,
) -> None:
    """Bring one changed path from the workspace into ``index``."""
    full = os.path.join(git.root, path)
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        info = None
    if info is None or stat.S_ISDIR(info.st_mode):
        if info is None and path in index:
            index.remove(path)
            result.deleted.append(path)
        return
    if divert is not None and stat.S_ISREG(info.st_mode) and path not in base and not flags & _GONE:
        replaced = divert(path, info.st_size)
        if replaced is not None:
            pointer_path, pointer = replaced
            index.add(
                pygit2.IndexEntry(
                    pointer_path, git.repo.create_blob(pointer), pygit2.enums.FileMode.BLOB
                )
            )
            result.diverted[path] = pointer_path
            return
    index.add(pygit2.IndexEntry(path, _blob(git, full, info), pygit2.enums.FileMode(_mode(info))))
    result.changed.append(path)


def _blob(git: GitRepo, full: str, info: os.stat_result) -> pygit2.Oid:
    if stat.S_ISLNK(info.st_mode):
        return git.repo.create_blob(os.fsencode(os.readlink(full)))
    return git.repo.create_blob_fromdisk(full)


def _mode(info: os.stat_result) -> int:
    if stat.S_ISLNK(info.st_mode):
        return int(pygit2.GIT_FILEMODE_LINK)
    if info.st_mode & stat.S_IXUSR:
        return int(pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)
    return int(pygit2.enums.FileMode.BLOB)


def _is_excluded(path: str, excluded: tuple[str, ...]) -> bool:
    return any(path == e or path.startswith(e + "/") for e in excluded)


def _remove_under(index: pygit2.Index, folder: str) -> None:
    index.remove_directory(folder.rstrip("/"))


def tree_with(git: GitRepo, base: str, files: Mapping[str, bytes]) -> str:
    """Write the tree ``base`` with ``files`` added or replaced; the workspace is not read.

    Raises `KeyError` or `ValueError` when ``base`` is not a tree of this repository.
    """
    tree = git.repo[pygit2.Oid(hex=base)].peel(pygit2.Tree)
    index = pygit2.Index()
    index.read_tree(tree)
    for path, data in files.items():
        index.add(pygit2.IndexEntry(path, git.repo.create_blob(data), pygit2.enums.FileMode.BLOB))
    return str(index.write_tree(git.repo))
