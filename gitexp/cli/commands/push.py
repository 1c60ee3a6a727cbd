"""``gitexp push``."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from gitexp.cli.console import out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import SyncSummary


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="[GIT_REMOTE] NAME",
        help="the git remote (default: origin), then experiments to push; none: the "
        "current commit's data only",
    )
    add_sync_options(parser)
    parser.set_defaults(func=main)


def add_sync_options(parser: argparse.ArgumentParser) -> None:
    """The options push and pull share."""
    parser.add_argument("--all", action="store_true", help="every experiment")
    parser.add_argument(
        "-r", "--remote", metavar="NAME", help="storage remote (default: the default one)"
    )
    parser.add_argument("-j", "--jobs", metavar="N", type=int, help="transfers at once")
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="replace experiments that exist on the other side at another commit",
    )
    parser.add_argument("--no-data", action="store_true", help="move refs only, no data")
    parser.add_argument("--json", action="store_true", help="print what moved as JSON")


def credentials() -> dict[str, str]:
    """The environment, for the storage remote to take its credentials and settings from.

    Each kind of storage remote picks its own variables (``AWS_ACCESS_KEY_ID`` …);
    none is stored or shown.
    """
    return dict(os.environ)


def check_args(args: argparse.Namespace) -> None:
    """Usage errors push and pull share."""
    from gitexp.errors import UsageError

    if args.jobs is not None and args.jobs < 1:
        raise UsageError("--jobs must be 1 or more")


def main(args: argparse.Namespace) -> int:
    """Parse, call the API once, render; returns the exit code."""
    git_remote, summary = call_sync(args, "push")
    if not args.json:
        report(summary, "pushed", "uploaded", git_remote)
    return 0


def call_sync(args: argparse.Namespace, method: str, **extra: object) -> tuple[str, SyncSummary]:
    """``Repo.push`` or ``Repo.pull`` with the arguments both take; (git remote, summary).

    A progress bar shows on a terminal; with ``--json`` the summary is printed as JSON.
    """
    import orjson

    from gitexp.api import Repo
    from gitexp.cli.progress import transfer_bar

    check_args(args)
    repo = Repo(".")
    git_remote, names = repo.split_targets(
        args.targets, everything=args.all, pulling=method == "pull"
    )
    with transfer_bar() as progress:
        summary: SyncSummary = getattr(repo, method)(
            names,
            git_remote=git_remote,
            everything=args.all,
            remote=args.remote,
            jobs=args.jobs,
            force=args.force,
            data=not args.no_data,
            credentials=credentials(),
            progress=progress,
            **extra,
        )
    if args.json:
        out_bytes(orjson.dumps(summary.to_json(), option=orjson.OPT_INDENT_2))
    return git_remote or "origin", summary


def report(summary: SyncSummary, verb: str, moved: str, git_remote: str) -> None:
    """The human summary of a push or pull, on stderr."""
    if summary.refs_moved:
        say(
            f"{verb} {len(summary.refs_moved)} experiment(s) with '{git_remote}': "
            + ", ".join(summary.refs_moved)
        )
    if summary.models:
        moved_models = ", ".join(summary.models)
        say(f"{verb} {len(summary.models)} model version(s) and alias(es): {moved_models}")
    if summary.refs_unchanged:
        say(f"{len(summary.refs_unchanged)} experiment(s) already up to date with '{git_remote}'")
    if summary.remote:
        size = _size(summary.bytes)
        say(
            f"{moved} {summary.transferred} object(s) ({size}) with {summary.remote}; "
            f"{summary.present} already there"
        )
    elif not summary.refs_moved and not summary.refs_unchanged and not summary.models:
        say("nothing to do: no experiment named and no data in the current commit")


def _size(count: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return f"{count} B"  # pragma: no cover
