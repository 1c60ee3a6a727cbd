"""Raw git objects as `plumbing.read_objects` gives them: commits and trees, parsed.

Reading ten thousand commits and their trees through libgit2 costs a lookup, an
object and several Python calls each; one ``git cat-file --batch`` process reads
them as a stream, in a process of its own (so on another core), and these parsers
read the raw formats git writes (see git's ``Documentation/gitformat-*``): a
commit's header lines and message, a tree's ``mode SP name NUL id`` entries.
Objects are named by hex id throughout.
"""

from __future__ import annotations

import re
from typing import NamedTuple

TREE_MODE = b"40000"
GITLINK_MODE = b"160000"
_ENTRY = re.compile(rb"(\d+) ([^\0]*)\0(.{20})", re.DOTALL)


Entry = tuple[bytes, bytes, bytes]
"""A tree entry as git stores it: mode (``b"100644"``), name and the 20-byte id."""
Tree = dict[bytes, Entry]
"""A tree's entries by name, in git's bytes: parsing keeps them as they are, so a
tree of which one name is looked up costs no decoding of the others."""


class RawCommit(NamedTuple):
    """What a commit object says: its tree, parents, committer time and message."""

    tree: str
    parents: tuple[str, ...]
    commit_time: int
    message: str


def parse_commit(data: bytes) -> RawCommit:
    """The fields of a raw commit object (its message decoded as UTF-8)."""
    head, _, message = data.partition(b"\n\n")
    tree = ""
    parents: list[str] = []
    when = 0
    for line in head.split(b"\n"):
        if line.startswith(b"tree "):
            tree = line[5:].decode()
        elif line.startswith(b"parent "):
            parents.append(line[7:].decode())
        elif line.startswith(b"committer "):
            when = _time(line)
    return RawCommit(tree, tuple(parents), when, message.decode("utf-8", "replace"))


def _time(line: bytes) -> int:
    """The seconds of a ``committer NAME <EMAIL> SECONDS ZONE`` line."""
    parts = line.rsplit(b" ", 2)
    try:
        return int(parts[-2])
    except (IndexError, ValueError):
        return 0


def parse_tree(data: bytes) -> Tree:
    """The entries of a raw tree object by name."""
    return {entry[1]: entry for entry in _ENTRY.findall(data)}


def is_tree(entry: Entry) -> bool:
    """Whether ``entry`` is a subtree."""
    return entry[0] == TREE_MODE


def is_blob(entry: Entry) -> bool:
    """Whether ``entry`` is a file (a symbolic link counts, as in libgit2)."""
    return entry[0] != TREE_MODE and entry[0] != GITLINK_MODE
