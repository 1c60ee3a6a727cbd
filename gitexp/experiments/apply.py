"""``gitexp apply``: make the workspace's files match an experiment, losing nothing.

The paths to change are those where the experiment's tree differs from HEAD's. A
workspace file among them that differs from both, and whose content git does not
hold anywhere, is uncommitted work: apply refuses, or with ``force`` first saves the
whole workspace as a commit under ``refs/gitexp/stash/`` and says how to restore it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pygit2

from gitexp.cache.atomic import atomic_write
from gitexp.core.names import STASH_REF_PREFIX
from gitexp.core.pointer import check_data_path, data_path
from gitexp.core.runinfo import RUN_DIR, iso_utc, utc_now
from gitexp.errors import UncommittedChangesError
from gitexp.experiments.data import pointers_at
from gitexp.experiments.datasets import checkout_pointers, data_at_risk
from gitexp.experiments.project import Project
from gitexp.git.diff import blob_bytes, tree_changes
from gitexp.git.refs import create_ref
from gitexp.git.repo import GitRepo
from gitexp.git.snapshot import snapshot


@dataclass
class ApplyResult:
    """What apply did: files written and deleted, and where saved work went."""

    commit: str
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    stash_ref: str | None = None
    saved: list[str] = field(default_factory=list)
    data: dict[str, object] = field(default_factory=dict)
    """What checking out the experiment's data did (see `datasets.checkout_pointers`)."""


@dataclass(frozen=True, slots=True)
class _Change:
    path: str
    blob: bytes | None
    mode: int


def apply(
    git: GitRepo,
    target: pygit2.Commit,
    *,
    force: bool = False,
    save_data: Callable[[Sequence[str]], None] | None = None,
) -> ApplyResult:
    """Write the experiment's version of every path where it differs from HEAD.

    Raises `UncommittedChangesError` (listing the files) unless ``force``. With
    ``force``, ``save_data`` is called first for content-addressed data to keep.
    """
    head = git.head_commit()
    changes = _changes(git, head.tree, target.tree)
    at_risk = [c.path for c in changes if _at_risk(git, head.tree, c)]
    result = ApplyResult(commit=str(target.id))
    if at_risk and not force:
        shown = ", ".join(at_risk[:5]) + (
            f" and {len(at_risk) - 5} more" if len(at_risk) > 5 else ""
        )
        raise UncommittedChangesError(
            f"apply would overwrite uncommitted changes in {shown}",
            hint="commit or stash them first, or pass --force to save them in a stash ref",
        )
    if at_risk:
        if save_data is not None:
            save_data(at_risk)
        result.stash_ref = stash_workspace(git, head)
        result.saved = at_risk
    for change in changes:
        _write(git, change, result)
    return result


def apply_with_data(project: Project, target: pygit2.Commit, *, force: bool = False) -> ApplyResult:
    """`apply`, then check out the data whose pointers the experiment changes.

    Data that would be overwritten and that the cache does not hold is uncommitted
    work too: apply refuses before writing anything, or with ``force`` stores it in
    the cache first (listed under ``data["saved"]``).
    """
    head = project.git.head_commit()
    before = pointers_at(project.git, head.tree)
    pointers = {
        path: pointer
        for path, pointer in pointers_at(project.git, target.tree).items()
        if before.get(path) != pointer
    }
    at_risk = data_at_risk(project, pointers) if pointers else []
    if at_risk and not force:
        more = f" and {len(at_risk) - 5} more" if len(at_risk) > 5 else ""
        raise UncommittedChangesError(
            f"apply would overwrite data that is not in the cache: {', '.join(at_risk[:5])}{more}",
            hint="run `gitexp add` on it to keep it, "
            "or pass --force to store it in the cache first",
        )
    result = apply(project.git, target, force=force)
    if pointers:
        result.data = checkout_pointers(project, pointers, force=True)
    return result


def _changes(git: GitRepo, old: pygit2.Tree, new: pygit2.Tree) -> list[_Change]:
    """The paths to write; `PathError` before anything is written for an unsafe one.

    A crafted commit may hold a pointer whose data path is in ``.git`` (or a file
    there): the whole apply is refused, naming it.
    """
    changes: list[_Change] = []
    for change in tree_changes(git, old, new):
        if change.path == RUN_DIR or change.path.startswith(RUN_DIR + "/"):
            continue
        if change.status != "deleted":
            check_data_path(data_path(change.path), change.path)
        blob = blob_bytes(git, change.new)
        if change.status != "deleted" and blob is None:
            continue
        changes.append(_Change(change.path, blob, change.new_mode))
    return changes


def _workspace_bytes(git: GitRepo, path: str) -> bytes | None:
    full = git.root / path
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return os.fsencode(os.readlink(full))
    if stat.S_ISDIR(info.st_mode):
        return b"\x00directory"
    return full.read_bytes()


def _at_risk(git: GitRepo, head: pygit2.Tree, change: _Change) -> bool:
    """Whether writing ``change`` would destroy content that exists nowhere else."""
    current = _workspace_bytes(git, change.path)
    if current is None or current == change.blob:
        return False
    before = git.read_blob(head, change.path)
    if current == before:
        return False
    return pygit2.hash(current) not in git.repo.odb


def stash_workspace(git: GitRepo, head: pygit2.Commit) -> str:
    """Save the whole workspace (changes and untracked files) as a commit on a stash ref."""
    snap = snapshot(git, head.tree)
    stamp = iso_utc(utc_now()).replace(":", "").replace("-", "")
    commit = git.write_commit(snap.tree, [str(head.id)], "gitexp apply --force: saved work\n")
    ref = f"{STASH_REF_PREFIX}{stamp}-{commit[:8]}"
    create_ref(git, ref, commit)
    return ref


def _write(git: GitRepo, change: _Change, result: ApplyResult) -> None:
    full = git.root / change.path
    if change.blob is None:
        with contextlib.suppress(FileNotFoundError):
            full.unlink()
            result.deleted.append(change.path)
        return
    if _workspace_bytes(git, change.path) == change.blob and not _mode_differs(full, change.mode):
        return
    if change.mode == pygit2.GIT_FILEMODE_LINK:
        tmp = full.with_name(full.name + ".gitexp-link")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        full.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.fsdecode(change.blob), tmp)
        os.replace(tmp, full)
    else:
        if full.is_symlink() or full.is_dir():
            _remove_in_the_way(full)
        executable = change.mode == pygit2.GIT_FILEMODE_BLOB_EXECUTABLE
        atomic_write(full, change.blob, 0o755 if executable else 0o644)
    result.written.append(change.path)


def _mode_differs(full: os.PathLike[str], mode: int) -> bool:
    try:
        executable = bool(os.stat(full).st_mode & stat.S_IXUSR)
    except FileNotFoundError:
        return True
    return executable != (mode == pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)


def _remove_in_the_way(full: os.PathLike[str]) -> None:
    path = os.fspath(full)
    if os.path.islink(path):
        os.unlink(path)
    elif os.path.isdir(path) and not os.listdir(path):
        os.rmdir(path)
