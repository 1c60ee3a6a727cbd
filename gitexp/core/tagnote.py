"""The note gitexp keeps on an experiment commit: its tags and free text.

One JSON document per experiment commit, ``{"version": 1, "tags": [sorted unique],
"note": text}``, stored as a git note, so tagging never changes the commit. Two
people editing the same experiment's note are reconciled by `merge_notes`, a
three-way merge that keeps every tag either side added and every text either wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from gitexp.errors import FormatError, UsageError

VERSION = 1
_TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/+-]{0,99}")


@dataclass(frozen=True, slots=True)
class TagNote:
    """What the note on one experiment commit says: sorted unique tags and a text."""

    tags: tuple[str, ...] = ()
    note: str = ""

    @property
    def empty(self) -> bool:
        """Nothing to keep: no tag and no text (the note is then removed)."""
        return not self.tags and not self.note

    def with_tags(self, added: Iterable[str] = (), removed: Iterable[str] = ()) -> TagNote:
        """This note with ``added`` tags and without ``removed`` ones."""
        gone = set(removed)
        tags = (set(self.tags) | set(added)) - gone
        return TagNote(tuple(sorted(tags)), self.note)

    def to_bytes(self) -> bytes:
        """The note's bytes: compact JSON with a trailing newline, keys in a fixed order."""
        doc = {"version": VERSION, "tags": list(self.tags), "note": self.note}
        return orjson.dumps(doc) + b"\n"


def check_tag(tag: str) -> str:
    """``tag`` itself when it is a valid tag, else `UsageError` saying what one looks like."""
    if not _TAG.fullmatch(tag):
        raise UsageError(
            f"'{tag}' is not a valid tag",
            hint="a tag starts with a letter or digit and holds letters, digits and . _ / + - "
            "(at most 100 characters)",
        )
    return tag


def parse_note(data: bytes, where: str = "note") -> TagNote:
    """Read a note's bytes; `FormatError` naming ``where`` for anything else.

    A note written by hand that is plain text (``git notes add -m ...``) is kept as
    the note's text, so nothing a user wrote is lost or refused.
    """
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return TagNote((), data.decode("utf-8", "replace").strip())
    if not isinstance(doc, dict):
        return TagNote((), data.decode("utf-8", "replace").strip())
    version = doc.get("version")
    if version != VERSION:
        raise FormatError(
            f"{where} has version {version!r}, which this gitexp does not know",
            hint="upgrade gitexp to read it",
        )
    tags = doc.get("tags", [])
    text = doc.get("note", "")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise FormatError(f"{where}: 'tags' is not a list of strings")
    if not isinstance(text, str):
        raise FormatError(f"{where}: 'note' is not a string")
    return TagNote(tuple(sorted(set(tags))), text)


def merge_notes(base: TagNote | None, ours: TagNote | None, theirs: TagNote | None) -> TagNote:
    """Three-way merge of one experiment's note; nothing either side added is dropped.

    A tag is kept when both sides have it, or when a side added it since ``base``; a
    tag one side removed and the other left alone is removed. The text follows the
    side that changed it; when both changed it differently, both texts are kept,
    ours first.
    """
    empty = TagNote()
    b, o, t = base or empty, ours or empty, theirs or empty
    old = set(b.tags)
    mine, other = set(o.tags), set(t.tags)
    tags = (mine & other) | (mine - old) | (other - old)
    return TagNote(tuple(sorted(tags)), _merge_text(b.note, o.note, t.note))


def _merge_text(base: str, ours: str, theirs: str) -> str:
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    if not ours or not theirs:  # one side cleared it, the other rewrote it: keep the words
        return ours or theirs
    return f"{ours}\n\n{theirs}"
