"""Another tool's tags on imported experiments, as gitexp tags and notes (git notes).

MLflow's tags are key/value pairs and gitexp's are words, so ``team=vision`` becomes
the tag ``team/vision`` (a tag alone, ``key``, when the value is empty), with any
character a tag cannot hold turned into ``-``. MLflow's own tags (``mlflow.*``) are
not tags to a user and stay in ``run.json`` only, except the run's description
(``mlflow.note.content``), which becomes the experiment's note.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gitexp.core.tagnote import TagNote, parse_note
from gitexp.experiments.tags import NOTES_REF
from gitexp.git import notes
from gitexp.git.repo import GitRepo

SYSTEM_PREFIX = "mlflow."
DESCRIPTION = "mlflow.note.content"
_NOT_IN_TAG = re.compile(r"[^A-Za-z0-9._/+-]+")


def tag_note(tags: Mapping[str, str]) -> TagNote:
    """The gitexp tags and note that MLflow tags ``tags`` stand for."""
    found: set[str] = set()
    for key, value in tags.items():
        if key.startswith(SYSTEM_PREFIX):
            continue
        text = f"{key}/{value}" if value else key
        tag = _NOT_IN_TAG.sub("-", text).strip("-")[:100]
        if tag and tag[0].isalnum():
            found.add(tag)
    return TagNote(tuple(sorted(found)), tags.get(DESCRIPTION, "").strip())


def attach_notes(git: GitRepo, by_commit: Mapping[str, TagNote]) -> None:
    """Add each commit's tags and note, in one compare-and-swap of the notes ref.

    Tags already on a commit are kept; its text is kept when it has one.
    """
    wanted = {commit: note for commit, note in by_commit.items() if not note.empty}
    if not wanted:
        return

    def edit(current: Mapping[str, bytes]) -> dict[str, bytes | None]:
        changes: dict[str, bytes | None] = {}
        for commit, note in wanted.items():
            old = current.get(commit)
            before = parse_note(old, f"the note on {commit[:12]}") if old else TagNote()
            after = TagNote(before.with_tags(note.tags).tags, before.note or note.note)
            if after != before:
                changes[commit] = after.to_bytes()
        return changes

    notes.update_notes(git, NOTES_REF, edit, "gitexp: tags of imported experiments")
