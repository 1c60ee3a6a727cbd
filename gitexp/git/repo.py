"""Opening a repository and reading commits, trees and blobs with pygit2.

pygit2 is loaded when a command first reads a git object, not to find the
repository: importing it takes about 40 ms, which commands that touch only data
(``checkout``, ``status``, ``add``) need not pay. Those find the repository, and the
pointer files in the working tree, by asking the git executable (`gitexp.git.plumbing`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.errors import NoCommitsError, NotFoundError
from gitexp.git import plumbing

if TYPE_CHECKING:
    import pygit2

FALLBACK_NAME = "gitexp"
FALLBACK_EMAIL = "gitexp@localhost"


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A file in a tree: its path from the root, blob id (hex) and git file mode."""

    path: str
    oid: str
    mode: int


class GitRepo:
    """A non-bare git repository: its working tree, git dir and common dir.

    The common dir is shared by every worktree of the repository; gitexp keeps its
    cache and local config there. ``repo``, the pygit2 handle, is opened on first use.
    """

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        self.root = root
        self.git_dir = git_dir
        self.common_dir = common_dir
        self._repo: pygit2.Repository | None = None

    @property
    def repo(self) -> pygit2.Repository:
        """The pygit2 repository (loading pygit2 the first time)."""
        if self._repo is None:
            import pygit2

            self._repo = pygit2.Repository(str(self.git_dir))
        return self._repo

    @classmethod
    def discover(cls, start: str | os.PathLike[str] = ".") -> GitRepo:
        """The repository that contains ``start``; `NotARepositoryError` if none does."""
        places = plumbing.places(start)
        return cls(places.root, places.git_dir, places.common_dir)

    def head_commit(self) -> pygit2.Commit:
        """The commit HEAD points at; `NoCommitsError` in a repository with none."""
        import pygit2

        if self.repo.head_is_unborn:
            raise NoCommitsError(
                "the repository has no commits yet, so there is no baseline for an experiment",
                hint="commit your code first: git add -A && git commit -m 'first commit'",
            )
        return self.repo.head.peel(pygit2.Commit)

    def head_branch(self) -> str | None:
        """The short name of the checked-out branch, None when HEAD is detached or unborn."""
        if self.repo.head_is_unborn or self.repo.head_is_detached:
            return None
        return self.repo.head.shorthand

    def resolve_commit(self, spec: str) -> pygit2.Commit:
        """The commit a commit-ish names (sha, branch, tag, ref, ``HEAD~2``)."""
        import pygit2

        try:
            obj = self.repo.revparse_single(spec)
            commit = obj.peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError) as exc:
            raise NotFoundError(
                f"'{spec}' is not an experiment, branch, tag or commit",
                hint="see `gitexp list` for experiments, `git branch -a` for branches",
            ) from exc
        return commit

    def lookup_commit(self, oid: str) -> pygit2.Commit:
        """The commit with this full hex id."""
        import pygit2

        obj = self.repo.get(oid)
        if not isinstance(obj, pygit2.Commit):
            raise NotFoundError(f"commit {oid[:12]} is not in this repository")
        return obj

    def read_blob(self, tree: pygit2.Tree, path: str) -> bytes | None:
        """The bytes at ``path`` in ``tree``, or None when there is no file there."""
        import pygit2

        try:
            entry = tree[path]
        except KeyError:
            return None
        obj = self.repo.get(entry.id)
        return obj.data if isinstance(obj, pygit2.Blob) else None

    def blob_id(self, tree: pygit2.Tree, path: str) -> str | None:
        """The blob id (hex) at ``path`` in ``tree`` without reading it, or None."""
        try:
            entry = tree[path]
        except KeyError:
            return None
        return str(entry.id) if entry.type_str == "blob" else None

    def walk_tree(self, tree: pygit2.Tree, prefix: str = "") -> Iterator[TreeEntry]:
        """Every blob under ``tree``, depth first, with its path from the root."""
        import pygit2

        for entry in tree:
            path = f"{prefix}{entry.name}"
            if entry.type_str == "tree":
                sub = self.repo.get(entry.id)
                assert isinstance(sub, pygit2.Tree)  # noqa: S101 - type_str said so
                yield from self.walk_tree(sub, path + "/")
            elif entry.type_str == "blob":
                yield TreeEntry(path, str(entry.id), entry.filemode)

    def signature(self) -> pygit2.Signature:
        """The user's configured identity, or gitexp's own when none is set."""
        import pygit2

        try:
            return self.repo.default_signature
        except (KeyError, pygit2.GitError):
            return pygit2.Signature(FALLBACK_NAME, FALLBACK_EMAIL)

    def write_commit(self, tree: str, parents: list[str], message: str) -> str:
        """Write a commit object (no ref moves) and return its id."""
        import pygit2

        sig = self.signature()
        oid = self.repo.create_commit(
            None, sig, sig, message, pygit2.Oid(hex=tree), [pygit2.Oid(hex=p) for p in parents]
        )
        return str(oid)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ``ancestor`` is ``descendant`` or reachable from it."""
        import pygit2

        if ancestor == descendant:
            return True
        return bool(self.repo.descendant_of(pygit2.Oid(hex=descendant), pygit2.Oid(hex=ancestor)))

    def is_tracked(self, path: str) -> bool:
        """Whether git's index (of this worktree) has ``path``."""
        return path in self.repo.index
