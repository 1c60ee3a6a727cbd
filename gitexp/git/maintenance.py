"""Keeping a long-lived repository small: git's own housekeeping, and refs let go of cheaply."""

from __future__ import annotations

import os
import subprocess

import pygit2

from gitexp.git.repo import GitRepo


def gc_auto(git: GitRepo) -> bool:
    """Run ``git gc --auto``: packs loose objects and refs only past git's thresholds.

    Cheap when nothing is due (git counts and returns); when something is, git may
    do it in the background. Safe beside other work in the repository: git prunes
    only unreachable objects older than its grace period. True when git succeeded.
    """
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(
        ["git", "gc", "--auto", "--quiet"],
        cwd=git.root,
        capture_output=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode == 0


def drop_ref(git: GitRepo, name: str, expected: str) -> bool:
    """Delete ref ``name`` if it points at ``expected``, in this process; True if deleted.

    For a repository's own bookkeeping refs that no user works with (a worker's
    record of a run that its git remote now holds), where a git process per ref would
    cost more than the work it tidies. Still compare-and-swap: libgit2 takes the
    ref's lock file and checks the value it expects under it, loose and packed, so a
    ref moved meanwhile is left alone (False).
    """
    reference = git.repo.references.get(name)
    if reference is None or str(reference.target) != expected:
        return False
    try:
        reference.delete()
    except (pygit2.GitError, KeyError, ValueError):
        return False
    return True
