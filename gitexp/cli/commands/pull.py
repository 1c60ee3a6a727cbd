"""``gitexp pull``."""

from __future__ import annotations

import argparse

from gitexp.cli.commands.push import add_sync_options, check_args, credentials, report
from gitexp.cli.console import out_bytes, say


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
    import orjson

    from gitexp.api import Repo
    from gitexp.cli.progress import transfer_bar

    check_args(args)
    repo = Repo(".")
    git_remote, names = repo.split_targets(args.targets)
    with transfer_bar() as progress:
        summary = repo.pull(
            names,
            git_remote=git_remote,
            everything=args.all,
            remote=args.remote,
            jobs=args.jobs,
            force=args.force,
            data=not args.no_data,
            checkout=args.checkout,
            credentials=credentials(),
            progress=progress,
        )
    if args.json:
        out_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
        return 0
    report(summary, "fetched", "downloaded", git_remote)
    checked = summary.get("checked_out") or []
    if isinstance(checked, list) and checked:
        say("checked out " + ", ".join(str(p) for p in checked))
    return 0
