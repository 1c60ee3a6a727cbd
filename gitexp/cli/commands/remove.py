"""``gitexp remove``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import say


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME", help="experiments to remove")
    parser.add_argument("--failed", action="store_true", help="remove every failed experiment")
    parser.add_argument("--all", action="store_true", help="remove every experiment")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo
    from gitexp.errors import UsageError

    if not args.names and not args.failed and not args.all:
        raise UsageError("name the experiments to remove", hint="or pass --failed or --all")
    removed = Repo(".").remove(args.names, failed=args.failed, everything=args.all)
    for name in removed:
        say(f"removed {name}")
    if not removed:
        say("nothing to remove")
    return 0
