"""``gitexp fsck``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out_bytes, say


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("-j", "--jobs", type=int, metavar="N", help="hash N objects at a time")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run it: one API call, then render; returns the exit code."""
    import orjson

    from gitexp.api import Repo

    if args.jobs is not None and args.jobs < 1:
        say("error: --jobs must be 1 or more")
        return 2
    result = Repo(".").fsck(jobs=args.jobs)
    if args.json:
        out_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    corrupt, missing = result.corrupt, result.missing
    for oid, moved_to in corrupt:
        say(f"corrupt: {oid} (moved to {moved_to})")
    for path, objects in missing:
        say(f"missing: {path} needs {len(objects)} objects not in the cache")
    say(
        f"checked {result.checked} objects: {len(corrupt)} corrupt, "
        f"{len(missing)} data paths with missing objects"
    )
    if corrupt or missing:
        say("error: the cache is not complete; run `gitexp pull` to fetch good copies")
        return 1
    return 0
