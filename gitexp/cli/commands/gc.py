"""``gitexp gc``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out_bytes, say, warn


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.description = (
        "Remove cache objects that nothing needs. Without options, keep the data of the "
        "workspace and of every commit on every branch, tag, experiment and stash ref. "
        "The options narrow that: keep only what they name (the workspace's data is "
        "always kept). Objects written in the last hour are kept unless --now."
    )
    parser.add_argument(
        "-n", "--dry-run", action="store_true", help="only say what would be removed"
    )
    parser.add_argument(
        "--now", action="store_true", help="do not keep objects written in the last hour"
    )
    parser.add_argument(
        "-w",
        "--workspace",
        action="store_true",
        help="keep only the workspace's data (plus what other options name)",
    )
    parser.add_argument(
        "-a",
        "--all-branches",
        action="store_true",
        help="keep the data of every commit on every branch",
    )
    parser.add_argument(
        "-e", "--experiments", action="store_true", help="keep the data of every experiment"
    )
    parser.add_argument(
        "--compact",
        action="store_true",
        help="then keep big files (16 MiB and more) that no workspace needs as chunks "
        "shared between versions; they are made whole again when checked out",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "-r",
        "--remote",
        metavar="NAME",
        help="collect on storage remote NAME instead, in two phases: mark what nothing "
        "needs, remove it in a gc run an hour or more later (at once with --now)",
    )
    parser.set_defaults(func=main)


def remote(args: argparse.Namespace) -> int:
    """``gc --remote NAME``: one API call, then render."""
    import os

    import orjson

    from gitexp.api import Repo
    from gitexp.core.sizes import format_size

    result = Repo(".").gc_remote(
        args.remote,
        workspace=args.workspace,
        all_branches=args.all_branches,
        experiments=args.experiments,
        dry_run=args.dry_run,
        now=args.now,
        credentials=dict(os.environ),
    )
    if args.json:
        out_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    verb = "would remove" if result.dry_run else "removed"
    say(
        f"{verb} {len(result.removed)} keys ({format_size(result.freed_bytes)}) from "
        f"{result.remote}; kept {result.kept}; marked {result.planned} more for a later gc"
        + (f"; {result.waiting} marked, waiting for the grace period" if result.waiting else "")
    )
    if result.repacked:
        say(
            f"repacked {result.repacked} sparse pack(s): "
            f"{format_size(result.copied_bytes)} of needed objects copied into new packs"
        )
    return 0


def main(args: argparse.Namespace) -> int:
    """Run it: one API call, then render; returns the exit code."""
    import orjson

    from gitexp.api import Repo
    from gitexp.core.sizes import format_size

    if args.remote:
        if args.compact:
            say("error: --compact works on the local cache, not on a storage remote; drop one")
            return 2
        return remote(args)
    from contextlib import nullcontext

    from gitexp.cli.progress import transfer_bar

    # a bar on a terminal only; the summary line below otherwise
    with transfer_bar() if args.compact else nullcontext() as progress:
        result = Repo(".").gc(
            workspace=args.workspace,
            all_branches=args.all_branches,
            experiments=args.experiments,
            dry_run=args.dry_run,
            now=args.now,
            notify=say,
            compact=args.compact,
            progress=progress,
        )
    if args.json:
        out_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    verb = "would remove" if result.dry_run else "removed"
    freed = format_size(result.freed_bytes)
    say(
        f"{verb} {result.removed} objects ({freed}); kept {result.kept}"
        + (f", and {result.recent} written in the last hour" if result.recent else "")
    )
    if args.compact:
        verb = "would compact" if result.dry_run else "compacted"
        say(
            f"{verb} {result.compacted} file(s), {format_size(result.compacted_bytes)} -> "
            f"{format_size(result.compacted_into)}"
        )
    if result.corrupt:
        warn(
            f"{len(result.corrupt)} big files were left whole: their bytes do not match "
            f"their id ({result.corrupt[0]}); run `gitexp fsck` to set them aside"
        )
    missing = result.missing_manifests
    if missing:
        warn(
            f"{len(missing)} folder manifests are not in the cache, so the files they list "
            "could not be kept; pull them before the next gc"
        )
    return 0
