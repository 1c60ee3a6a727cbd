"""``gitexp init``: write gitexp.yaml, and offer the git hooks.

On a terminal, ``init`` asks whether to install the git hooks (unless they are
installed already); without one it never asks. ``--hooks`` installs them.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from gitexp.cli.console import say

if TYPE_CHECKING:
    from gitexp.api import Repo


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hooks",
        action="store_true",
        help="also install the git hooks that keep data in step with git (gitexp hooks install)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo

    repo = Repo(".")
    written = repo.init()
    for path in written:
        say(f"wrote {path}")
    if not written:
        say("gitexp is already set up here (gitexp.yaml exists)")
    if args.hooks or _offer(repo):
        from gitexp.cli.commands.hooks import say_done

        say_done(repo.install_hooks())
    say("next: commit gitexp.yaml, then `gitexp run -- python train.py`")
    return 0


def _offer(repo: Repo) -> bool:
    """Ask on a terminal whether to install the hooks (not when they are in place)."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False
    status = repo.hooks_status()
    if all(row.state == "installed" for row in status):
        return False
    sys.stderr.write(
        "Install git hooks so that commit, checkout, merge and push keep the data in step "
        "(gitexp hooks install)? [Y/n] "
    )
    sys.stderr.flush()
    try:
        answer = sys.stdin.readline().strip().lower()
    except (EOFError, KeyboardInterrupt):
        return False
    return answer in ("", "y", "yes")
