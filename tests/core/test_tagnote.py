"""The note format and its three-way merge."""

from __future__ import annotations

import pytest

from gitexp.core.tagnote import TagNote, merge_notes, parse_note
from gitexp.errors import FormatError


def test_round_trip_sorts_and_dedups() -> None:
    note = TagNote().with_tags(["b", "a", "b"])
    assert note.to_bytes() == b'{"version":1,"tags":["a","b"],"note":""}\n'
    assert parse_note(note.to_bytes()) == note


def test_unknown_version_is_refused() -> None:
    with pytest.raises(FormatError, match="version 2"):
        parse_note(b'{"version":2,"tags":[]}')
    with pytest.raises(FormatError, match="tags"):
        parse_note(b'{"version":1,"tags":"best"}')


def test_merge_keeps_both_sides_additions_and_one_sided_removals() -> None:
    base = TagNote(("old", "shared"), "")
    ours = TagNote(("old", "mine", "shared"), "")
    theirs = TagNote(("shared", "theirs"), "")  # removed "old"
    assert merge_notes(base, ours, theirs).tags == ("mine", "shared", "theirs")
    assert merge_notes(None, TagNote(("a",)), TagNote(("b",))).tags == ("a", "b")


def test_merge_of_texts_never_drops_words() -> None:
    assert merge_notes(TagNote(note="x"), TagNote(note="x"), TagNote(note="y")).note == "y"
    assert merge_notes(None, TagNote(note="mine"), TagNote(note="theirs")).note == "mine\n\ntheirs"
