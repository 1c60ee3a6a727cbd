"""How a run keeps its outs out of git without leaving files for the user to commit.

``add`` writes ``/<name>`` into the ``.gitignore`` beside the data, once, because the
user asked gitexp to track that path. A run is no such request, and writing
``.gitignore`` files on every run left new files in the workspace to commit. So a run:

- puts the line into the ``.gitignore`` beside each out in the experiment's commit
  (the workspace's file, else the baseline's, plus the line), so whoever applies or
  checks out the experiment has the out's data ignored, as after ``add``;
- keeps the out out of ``git status`` and ``git add -A`` in the workspace through the
  repository's ``info/exclude``, which git reads and never commits. Runs in the
  workspace hold its lock, so they do not write that file at the same time.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pygit2

from gitexp.cache.atomic import atomic_write
from gitexp.cache.gitignore import GITIGNORE, ignore_line
from gitexp.git.repo import GitRepo


def commit_ignores(git: GitRepo, base: pygit2.Tree, outs: Iterable[str]) -> dict[str, bytes]:
    """The ``.gitignore`` files of the experiment commit that ignore each of ``outs``.

    Only files that gain a line are returned (path in the tree → bytes).
    """
    files: dict[str, bytes] = {}
    for out in outs:
        folder, _, name = out.rpartition("/")
        path = f"{folder}/{GITIGNORE}" if folder else GITIGNORE
        current = files.get(path)
        if current is None:
            current = _current(git, base, path)
        changed = _with_line(current, ignore_line(name))
        if changed is not None:
            files[path] = changed
    return files


def exclude_locally(git: GitRepo, outs: Iterable[str]) -> None:
    """Add a line for each of ``outs`` to the repository's ``info/exclude`` (once)."""
    path = Path(git.git_dir) / "info" / "exclude"
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        text = b""
    start = text
    for out in outs:
        line = "/" + "/".join(ignore_line(part)[1:] for part in out.split("/"))
        text = _with_line(text, line) or text
    if text != start:
        os.makedirs(path.parent, exist_ok=True)
        atomic_write(path, text)


def _current(git: GitRepo, base: pygit2.Tree, path: str) -> bytes:
    try:
        return (git.root / path).read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return git.read_blob(base, path) or b""


def _with_line(text: bytes, line: str) -> bytes | None:
    """``text`` with ``line`` appended, or None when a line already ignores that path."""
    lines = text.decode("utf-8", errors="surrogateescape").splitlines()
    same = {line, line + "/", line[1:], line[1:] + "/"} if line.count("/") == 1 else {line}
    if any(existing.strip() in same for existing in lines):
        return None
    if text and not text.endswith(b"\n"):
        text += b"\n"
    return text + line.encode("utf-8", errors="surrogateescape") + b"\n"
