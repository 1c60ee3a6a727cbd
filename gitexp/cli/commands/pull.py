"""``gitexp pull``."""

from __future__ import annotations

import argparse

from gitexp.cli.commands.push import add_sync_options, call_sync, report
from gitexp.cli.console import say


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="[GIT_REMOTE] NAME",
        help="the git remote (default: origin), then experiments to pull; none: the "
        "current commit's data only",
    )
    add_sync_options(parser)
    parser.add_argument(
        "--checkout",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check the current commit's data out into the workspace afterwards (default: on)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Parse, call the API once, render; returns the exit code."""
    git_remote, summary = call_sync(args, "pull", checkout=args.checkout)
    if args.json:
        return 0
    report(summary, "fetched", "downloaded", git_remote)
    if summary.checked_out:
        say("checked out " + ", ".join(summary.checked_out))
    return 0
