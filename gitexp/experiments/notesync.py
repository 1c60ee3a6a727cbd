"""Tags and notes travel with experiments: push and pull of ``refs/notes/gitexp``.

The notes ref is one ref for every experiment, so two people who tagged different
(or the same) experiments both moved it. Pull fetches the remote's notes and merges
them into ours (`gitexp.experiments.tags.merge_incoming`); push does that first when
the remote has notes we lack, then pushes with a lease on the value it saw, and
starts again when someone pushed in between. Nobody's tag is ever dropped.
"""

from __future__ import annotations

from gitexp.errors import ConflictError
from gitexp.experiments.tags import NOTES_REF, merge_incoming
from gitexp.git import transport
from gitexp.git.refs import read_ref
from gitexp.git.repo import GitRepo

_ATTEMPTS = 5


def remote_notes(git: GitRepo, remote: str) -> str | None:
    """The commit the remote's notes ref points to, or None when it has none."""
    return transport.ls_remote(git, remote, NOTES_REF).get(NOTES_REF)


def pull_notes(git: GitRepo, remote: str) -> bool:
    """Fetch the remote's notes and merge them into ours; whether ours changed."""
    theirs = remote_notes(git, remote)
    if theirs is None:
        return False
    before = _fetch_and_merge(git, remote)
    return read_ref(git, NOTES_REF) != before


def _fetch_and_merge(git: GitRepo, remote: str) -> str | None:
    """Merge the remote's notes into ours; the local notes ref before the merge."""
    before = read_ref(git, NOTES_REF)
    try:
        fetched = transport.fetch_refs(git, remote, [NOTES_REF])
        merge_incoming(git, fetched[NOTES_REF])
    finally:
        transport.clear_incoming(git)
    return before


def push_notes(git: GitRepo, remote: str) -> bool:
    """Push our notes, merged with the remote's first; whether the remote's moved.

    Raises `ConflictError` only when other pushes kept moving the remote's notes.
    """
    for _ in range(_ATTEMPTS):
        ours = read_ref(git, NOTES_REF)
        if ours is None:
            return False
        theirs = remote_notes(git, remote)
        if theirs == ours:
            return False
        if theirs is not None and not _have_all(git, ours, theirs):
            _fetch_and_merge(git, remote)
            ours = read_ref(git, NOTES_REF) or ours
        try:
            transport.push_refs(git, remote, [transport.RefPush(NOTES_REF, ours, theirs)])
        except ConflictError:
            continue
        return True
    raise ConflictError(
        f"tags and notes on '{remote}' kept changing while pushing",
        hint="run the push again",
    )


def _have_all(git: GitRepo, ours: str, theirs: str) -> bool:
    """Whether our notes already hold theirs (their commit is ours or an ancestor)."""
    if git.repo.get(theirs) is None:
        return False
    return git.is_ancestor(theirs, ours)
