"""Trees made from other trees: some paths taken from a second tree instead.

Used to start a run again from an experiment's commit: the code and params as they
ran, with the run's own results (metrics, series, outs, ``.gitexp/``) put back as
the baseline had them, so the new run must write its results itself.
"""

from __future__ import annotations

from collections.abc import Iterable

import pygit2

from gitexp.git.repo import GitRepo


def with_paths_from(
    git: GitRepo, tree: pygit2.Tree, other: pygit2.Tree, paths: Iterable[str]
) -> str:
    """``tree`` with each of ``paths`` (a file, or a folder and all under it) as in ``other``.

    A path ``other`` lacks is removed; one only ``other`` has is added. Returns the
    new tree's id; nothing else is written (no ref moves, no index or file changes).
    """
    index = pygit2.Index()
    index.read_tree(tree)
    wanted = [p.strip("/") for p in paths if p.strip("/")]

    def covered(path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in wanted)

    for entry in list(index):
        if covered(entry.path):
            index.remove(entry.path)
    source = pygit2.Index()
    source.read_tree(other)
    for entry in source:
        if covered(entry.path):
            index.add(pygit2.IndexEntry(entry.path, entry.id, entry.mode))
    return str(index.write_tree(git.repo))


def with_file(git: GitRepo, tree: pygit2.Tree, path: str, data: bytes) -> str:
    """``tree`` with the file ``path`` holding ``data`` (added or replaced); the new tree's id.

    Only objects are written: no ref moves, no index or file changes.
    """
    index = pygit2.Index()
    index.read_tree(tree)
    blob = git.repo.create_blob(data)
    index.add(pygit2.IndexEntry(path, blob, pygit2.enums.FileMode.BLOB))
    return str(index.write_tree(git.repo))
