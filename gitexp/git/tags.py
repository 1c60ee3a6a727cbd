"""Annotated tags written as objects first, their refs created only if absent.

``git tag`` and libgit2 both check that a tag does not exist before they take its
lock, so two processes can each believe they made it. Here the tag object is written
on its own (no ref moves), and the ref is created through `gitexp.git.refs` with
"must not exist" as the expected old value, checked under git's lock: of any number
of processes creating one tag, exactly one wins and the others learn that they lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from gitexp.errors import ConflictError, GitexpError
from gitexp.git.refs import RefUpdate, update_refs
from gitexp.git.repo import GitRepo


@dataclass(frozen=True, slots=True)
class TagObject:
    """An annotated tag as read back: its id, the commit it tags, message and time."""

    oid: str
    target: str
    message: str
    time: int
    """When it was tagged, in seconds since the epoch (the tagger line's time)."""


def write_tag(git: GitRepo, short_name: str, commit: str, message: str) -> str:
    """Write an annotated tag object for ``commit`` (no ref moves); its id.

    The tagger is the user's identity, as for experiment commits.
    """
    import pygit2

    sig = git.signature()
    sign = "-" if sig.offset < 0 else "+"
    offset = abs(sig.offset)
    tagger = f"{sig.name} <{sig.email}> {sig.time} {sign}{offset // 60:02d}{offset % 60:02d}"
    text = (
        f"object {commit}\ntype commit\ntag {short_name}\ntagger {tagger}\n\n{message}"
    ).encode()
    return str(git.repo.odb.write(pygit2.enums.ObjectType.TAG, text))


def create_only(git: GitRepo, ref: str, target: str) -> bool:
    """Create ``ref`` at ``target`` if it does not exist; False when it does (a lost race).

    The check happens under git's lock on the ref, so it holds against any number
    of concurrent creators, and only the one whose transaction created the ref gets
    True: two creators of byte-identical tags (same content, same second) are still
    two, and the second learns it lost. Other failures raise `GitexpError`.
    """
    try:
        update_refs(git, [RefUpdate(ref, target, None)], "gitexp: create tag")
    except ConflictError:
        if git.repo.references.get(ref) is None:
            raise  # not there, yet not created: not a race gitexp can settle
        return False
    return True


def read_tag(git: GitRepo, oid: str) -> TagObject:
    """The annotated tag object ``oid``; `GitexpError` when it is not one."""
    import pygit2

    obj = git.repo.get(oid)
    if not isinstance(obj, pygit2.Tag):
        raise GitexpError(f"object {oid[:12]} is not an annotated tag")
    tagger = obj.tagger
    return TagObject(
        oid=oid,
        target=str(obj.target),
        message=obj.message or "",
        time=int(tagger.time) if tagger is not None else 0,
    )
