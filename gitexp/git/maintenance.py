"""Keeping a long-lived repository small: git's own housekeeping, when git judges it due."""

from __future__ import annotations

import os
import subprocess

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
