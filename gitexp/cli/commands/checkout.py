"""``gitexp checkout``."""

from __future__ import annotations

import argparse
import os

from gitexp.cli.console import out_bytes, say


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument(
        "paths",
        metavar="PATH",
        nargs="*",
        help="data paths, pointer files or folders holding them (default: all)",
    )
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="overwrite data that is not in the cache, after storing it in the cache",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run it: one API call, then render; returns the exit code."""
    import orjson

    from gitexp.api import Repo
    from gitexp.cli.progress import file_counter

    with file_counter("checking out") as on_file:
        result = Repo(".").checkout(
            args.paths, force=args.force, cwd=os.getcwd(), on_file=on_file, notify=say
        )
    if args.json:
        out_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    for item in result.saved:
        say(f"stored your version of {item.path} in the cache as {item.hash} before overwriting it")
    if result.written:
        say(f"checked out {', '.join(result.written)} ({result.files} files)")
    elif not result.missing:
        say("the workspace's data already matches its pointers")
    if result.missing:
        paths = ", ".join(m.path for m in result.missing)
        say(
            f"error: the cache lacks the data of {paths}; it was left as it was; "
            "run `gitexp pull` to fetch it"
        )
        return 1
    return 0
