"""``gitexp branch``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import say


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the experiment")
    parser.add_argument("branch", metavar="BRANCH", help="the new branch")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo

    commit = Repo(".").branch(args.name, args.branch)
    say(f"created branch '{args.branch}' at {commit[:8]} (experiment '{args.name}')")
    return 0
