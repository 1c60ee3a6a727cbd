"""Git notes: read every note under a notes ref, and change some, compare-and-swap.

A notes ref points at a commit whose tree maps an annotated object's id (hex) to a
blob, possibly fanned out in folders (``ab/cdef…``) as git does once there are many
notes; both shapes are read. Changes are written as a new notes commit whose parent
is the old one, and the ref moves only if it still holds the commit the change was
made against, so two writers never lose each other's note: the loser is told
(`ConflictError`) and `update_notes` reads again and retries. ``git notes --ref``
reads what is written here, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from gitexp.errors import ConflictError
from gitexp.git.refs import RefUpdate, read_ref, update_refs
from gitexp.git.repo import GitRepo

if TYPE_CHECKING:
    import pygit2

_ATTEMPTS = 20
_BLOB = 0o100644
_TREE = 0o040000

Changes = Mapping[str, "bytes | None"]
"""Annotated object id (hex) → the note's new bytes, or None to remove the note."""


def read_notes(git: GitRepo, ref: str, commit: str | None = None) -> dict[str, bytes]:
    """Every note of ``ref`` (or of notes commit ``commit``): object id → note bytes.

    A missing ref has no notes. Reading 10,000 notes is one tree walk.
    """
    tip = commit if commit is not None else read_ref(git, ref)
    if tip is None:
        return {}
    tree = git.lookup_commit(tip).tree
    odb = git.repo.odb
    return {oid: odb.read(blob)[1] for oid, blob in _entries(git, tree, "").items()}


def note_ids(git: GitRepo, commit: str) -> dict[str, str]:
    """The blob id of every note in notes commit ``commit``: object id → blob id."""
    return {
        oid: str(blob) for oid, blob in _entries(git, git.lookup_commit(commit).tree, "").items()
    }


def _entries(git: GitRepo, tree: pygit2.Tree, prefix: str) -> dict[str, pygit2.Oid]:
    import pygit2

    found: dict[str, pygit2.Oid] = {}
    for entry in tree:
        name = prefix + (entry.name or "")
        if entry.type_str == "tree":
            sub = git.repo[entry.id]
            assert isinstance(sub, pygit2.Tree)  # noqa: S101 - type_str said so
            found.update(_entries(git, sub, name))
        elif entry.type_str == "blob" and len(name) in (40, 64):
            found[name] = entry.id
    return found


def write_notes(
    git: GitRepo, ref: str, changes: Changes, expected: str | None, message: str
) -> str | None:
    """Apply ``changes`` on top of ``expected`` (the ref's value read before), move the ref.

    Returns the new notes commit (None when nothing changed). Raises `ConflictError`
    when the ref no longer holds ``expected``: another writer came first.
    """
    base = dict(note_ids(git, expected)) if expected else {}
    merged = dict(base)
    for oid, data in changes.items():
        if data is None:
            merged.pop(oid, None)
        else:
            merged[oid] = str(git.repo.create_blob(data))
    if merged == base:
        return None
    commit = commit_notes(git, merged, [expected] if expected else [], message)
    update_refs(git, [RefUpdate(ref, commit, expected)], message)
    return commit


def commit_notes(git: GitRepo, blobs: Mapping[str, str], parents: list[str], message: str) -> str:
    """A notes commit (no ref moves) whose tree maps each object id to its note blob.

    Written flat, one entry per note; git reads flat and fanned-out trees alike.
    """
    import pygit2

    builder = git.repo.TreeBuilder()
    for oid in sorted(blobs):
        builder.insert(oid, pygit2.Oid(hex=blobs[oid]), _BLOB)
    return git.write_commit(str(builder.write()), parents, message)


def update_notes(
    git: GitRepo,
    ref: str,
    edit: Callable[[Mapping[str, bytes]], Changes],
    message: str,
) -> str | None:
    """Read the notes, ask ``edit`` what to change, write it; retried when a writer races.

    ``edit`` gets the current notes and returns the changes; it may be called more
    than once, each time with fresher notes, so it must not have side effects.
    """
    for _ in range(_ATTEMPTS):
        expected = read_ref(git, ref)
        changes = edit(read_notes(git, ref, expected))
        try:
            return write_notes(git, ref, changes, expected, message)
        except ConflictError:
            continue
    raise ConflictError(
        f"could not update {ref}: other commands kept changing it",
        hint="retry once the other gitexp commands have finished",
    )


def merge_base(git: GitRepo, a: str, b: str) -> str | None:
    """The best common ancestor of two notes commits, or None when they share none."""
    import pygit2

    found = git.repo.merge_base(pygit2.Oid(hex=a), pygit2.Oid(hex=b))
    return str(found) if found is not None else None
