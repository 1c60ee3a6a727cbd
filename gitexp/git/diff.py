"""Tree diffs: which paths differ between two trees, without reading unchanged blobs."""

from __future__ import annotations

from dataclasses import dataclass

import pygit2
from pygit2.enums import DeltaStatus

from gitexp.git.repo import GitRepo

_STATUS = {
    DeltaStatus.ADDED: "added",
    DeltaStatus.DELETED: "deleted",
    DeltaStatus.MODIFIED: "modified",
    DeltaStatus.TYPECHANGE: "modified",
}
_NULL = "0" * 40


@dataclass(frozen=True, slots=True)
class Change:
    """One path that differs: ``added``, ``deleted`` or ``modified``, with both blob ids."""

    path: str
    status: str
    old: str | None
    new: str | None
    new_mode: int


def tree_changes(git: GitRepo, old: pygit2.Tree, new: pygit2.Tree) -> list[Change]:
    """The paths that differ from ``old`` to ``new``, in path order (no rename detection).

    Unchanged subtrees are skipped by id, so the cost follows the size of the change.
    """
    changes = []
    for delta in old.diff_to_tree(new).deltas:
        status = _STATUS.get(delta.status, "modified")
        deleted = status == "deleted"
        path = delta.old_file.path if deleted else delta.new_file.path
        old_id = None if status == "added" else _hex(delta.old_file.id)
        new_id = None if deleted else _hex(delta.new_file.id)
        changes.append(
            Change(path, status, old_id, new_id, 0 if deleted else int(delta.new_file.mode))
        )
    return changes


def _hex(oid: pygit2.Oid | None) -> str | None:
    if oid is None:
        return None
    text = str(oid)
    return None if text == _NULL else text


def blob_bytes(git: GitRepo, oid: str | None) -> bytes | None:
    """A blob's bytes by id, None for no id or a non-blob."""
    if oid is None:
        return None
    obj = git.repo.get(oid)
    return obj.data if isinstance(obj, pygit2.Blob) else None
