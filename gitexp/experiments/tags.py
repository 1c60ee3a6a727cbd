"""Tags and notes on experiments, kept in git notes under ``refs/notes/gitexp``.

An experiment's commit never changes: its tags and text live in a note on that
commit (`gitexp.core.tagnote`). Every local change is a compare-and-swap of the notes
ref, retried on a race, so concurrent writers keep each other's tags; notes from a
git remote are merged three ways (`merge_notes`), never overwritten.

The functions here are what ``gitexp tag``, ``gitexp note``, ``show`` and the local
UI call: `tags_by_commit`, `note_of`, `add_tags`, `remove_tags`, `set_note`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitexp.core.results import JsonResult
from gitexp.core.tagnote import TagNote, check_tag, merge_notes, parse_note
from gitexp.errors import ConflictError
from gitexp.experiments import tagindex
from gitexp.git import notes
from gitexp.git.refs import RefUpdate, read_ref, update_refs
from gitexp.git.repo import GitRepo

NOTES_REF = "refs/notes/gitexp"
"""The notes ref that holds one JSON note per experiment commit."""


@dataclass(frozen=True, slots=True)
class TagState(JsonResult):
    """An experiment's tags and note after a ``tag`` or ``note`` command."""

    name: str
    commit: str
    tags: tuple[str, ...]
    note: str

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "name": self.name,
            "commit": self.commit,
            "tags": list(self.tags),
            "note": self.note,
        }


def tags_by_commit(git: GitRepo, index: Path | None = None) -> dict[str, TagNote]:
    """Every experiment commit's note, by commit id (hex).

    With ``index`` (a file in gitexp's local state), through `gitexp.experiments.tagindex`:
    only notes changed since the last call are read.
    """
    tip = read_ref(git, NOTES_REF)
    if tip is None:
        return {}
    if index is not None:
        return tagindex.read_indexed(git, NOTES_REF, tip, index)
    return {
        oid: parse_note(data, f"the note on {oid[:12]}")
        for oid, data in notes.read_notes(git, NOTES_REF, tip).items()
    }


def _commit_of(git: GitRepo, name: str) -> str:
    """`manage.experiment_commit`, its module (and pygit2) loaded only when a note changes.

    ``show`` reads tags through this module on every run and needs neither.
    """
    from gitexp.experiments.manage import experiment_commit

    return experiment_commit(git, name)


def note_of(git: GitRepo, name: str) -> TagState:
    """Experiment ``name``'s tags and note; `NotFoundError` when it does not exist."""
    commit = _commit_of(git, name)
    found = notes.read_notes(git, NOTES_REF).get(commit)
    note = parse_note(found, f"the note on '{name}'") if found is not None else TagNote()
    return TagState(name, commit, note.tags, note.note)


def add_tags(git: GitRepo, name: str, tags: Sequence[str]) -> TagState:
    """Tag experiment ``name``; tags it already has are kept, so it is idempotent."""
    wanted = [check_tag(t) for t in tags]
    return _edit(git, name, lambda note: note.with_tags(added=wanted), f"tag {name}")


def remove_tags(git: GitRepo, name: str, tags: Sequence[str]) -> TagState:
    """Remove ``tags`` from experiment ``name``; a tag it lacks is no error."""
    return _edit(git, name, lambda note: note.with_tags(removed=tags), f"untag {name}")


def set_note(git: GitRepo, name: str, text: str) -> TagState:
    """Replace experiment ``name``'s note text (``""`` clears it); its tags stay."""
    return _edit(git, name, lambda note: TagNote(note.tags, text.strip()), f"note {name}")


def _edit(git: GitRepo, name: str, change: Callable[[TagNote], TagNote], why: str) -> TagState:
    """Apply ``change`` to the note on ``name``'s commit, compare-and-swap, retried."""
    commit = _commit_of(git, name)
    result: list[TagNote] = []

    def edit(current: Mapping[str, bytes]) -> dict[str, bytes | None]:
        old = current.get(commit)
        before = parse_note(old, f"the note on '{name}'") if old is not None else TagNote()
        after = change(before)
        result[:] = [after]
        if after == before and old is not None:
            return {}
        return {commit: None if after.empty else after.to_bytes()}

    notes.update_notes(git, NOTES_REF, edit, f"gitexp: {why}")
    return TagState(name, commit, result[0].tags, result[0].note)


def merge_incoming(git: GitRepo, theirs: str) -> str:
    """Bring notes commit ``theirs`` (fetched from a remote) into the local notes ref.

    Fast-forwards when one side has all of the other; otherwise writes a merge commit
    (parents: ours, theirs) whose notes are `merge_notes` of each experiment's three
    versions. Compare-and-swap, retried on a race. Returns the notes ref's new value.
    """

    def attempt() -> tuple[str | None, str]:
        ours = read_ref(git, NOTES_REF)
        if ours is None or git.is_ancestor(ours, theirs):
            return ours, theirs
        if git.is_ancestor(theirs, ours):
            return ours, ours
        return ours, _merge_commit(git, ours, theirs)

    for _ in range(20):
        expected, target = attempt()
        if expected == target:
            return target
        try:
            update_refs(git, [RefUpdate(NOTES_REF, target, expected)], "gitexp: notes")
        except ConflictError:
            continue
        return target
    raise ConflictError(
        f"could not merge {NOTES_REF}: other commands kept changing it",
        hint="retry once the other gitexp commands have finished",
    )


def _merge_commit(git: GitRepo, ours: str, theirs: str) -> str:
    base = notes.merge_base(git, ours, theirs)
    sides = [_parsed(git, c) if c else {} for c in (base, ours, theirs)]
    ids = [notes.note_ids(git, c) if c else {} for c in (base, ours, theirs)]
    blobs: dict[str, str] = {}
    for oid in set(ids[1]) | set(ids[2]):
        b, o, t = (ids[i].get(oid) for i in range(3))
        if o == t or t == b:
            chosen = o
        elif o == b:
            chosen = t
        else:
            merged = merge_notes(*(side.get(oid) for side in sides))
            chosen = None if merged.empty else str(git.repo.create_blob(merged.to_bytes()))
        if chosen is not None:
            blobs[oid] = chosen
    return notes.commit_notes(git, blobs, [ours, theirs], "gitexp: merge notes")


def _parsed(git: GitRepo, commit: str) -> dict[str, TagNote]:
    return {
        oid: parse_note(data, f"the note on {oid[:12]}")
        for oid, data in notes.read_notes(git, NOTES_REF, commit).items()
    }


def attach(rows: Iterable[dict[str, object]], by_commit: Mapping[str, TagNote]) -> None:
    """Add ``tags`` (a list) and ``note`` (text) to each ``show`` row that has a note.

    A row without one keeps the designed ``show --json`` shape, keys and all.
    """
    for row in rows:
        found = by_commit.get(str(row.get("commit") or ""))
        if found is not None:
            row["tags"] = list(found.tags)
            row["note"] = found.note
