"""Throwaway worktrees for isolated runs, added and removed one at a time.

``git worktree add`` and ``remove`` race with themselves when several run at once
(they share ``$GIT_COMMON_DIR/worktrees``), so every call here holds one lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from gitexp.errors import GitexpError
from gitexp.git.repo import GitRepo


@contextlib.contextmanager
def _serialized(git: GitRepo) -> Iterator[None]:
    lock = git.common_dir / "gitexp" / "worktree.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def add_worktree(git: GitRepo, path: Path, commit: str) -> GitRepo:
    """Check ``commit`` out, detached, in a new worktree at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _serialized(git):
        proc = subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(path), commit],
            cwd=git.root,
            capture_output=True,
            check=False,
        )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()
        raise GitexpError(f"could not create a worktree for the run: {detail}")
    return GitRepo.discover(path)


def remove_worktree(git: GitRepo, path: Path) -> None:
    """Remove the worktree at ``path`` and git's record of it; quiet if it is gone."""
    with _serialized(git):
        subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)],
            cwd=git.root,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(path, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=git.root, capture_output=True, check=False)
