"""The images a commit's media list names, as pointers: what push, pull and gc must move or keep.

An experiment's logged images are listed in ``.gitexp/media.jsonl``, not in pointer
files, so `gitexp.data.pointers.pointers_at` (which skips ``.gitexp/``) does not see
them; `media_pointers` does, keyed ``.gitexp/media.jsonl:<key>@<step>`` for messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitexp.core.media import MEDIA_FILE, parse_media
from gitexp.core.pointer import Pointer
from gitexp.errors import FormatError
from gitexp.git.repo import GitRepo

if TYPE_CHECKING:
    import pygit2

_PARSED: dict[str, dict[str, Pointer]] = {}


def media_pointers(git: GitRepo, tree: pygit2.Tree) -> dict[str, Pointer]:
    """A file pointer for every image ``tree``'s media list names (none without a list).

    A list that does not parse names nothing (as a broken pointer file names nothing);
    commands that read images say what is wrong with it.
    """
    blob = git.blob_id(tree, MEDIA_FILE)
    if blob is None:
        return {}
    found = _PARSED.get(blob)
    if found is None:
        try:
            entries = parse_media(git.repo[blob].data)  # type: ignore[attr-defined]
        except FormatError:
            entries = []
        found = _PARSED[blob] = {
            f"{MEDIA_FILE}:{e.key}@{e.step}": Pointer(e.oid, e.size) for e in entries
        }
    return found
