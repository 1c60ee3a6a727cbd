"""``gitexp fsck``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out_bytes, say


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("-j", "--jobs", type=int, metavar="N", help="hash N objects at a time")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "-r",
        "--remote",
        metavar="NAME",
        help="verify storage remote NAME instead: every pack, index, chunk list and object",
    )
    parser.set_defaults(func=main)


def remote(args: argparse.Namespace) -> int:
    """``fsck --remote NAME``: verify a storage remote, naming every fault."""
    import os

    import orjson

    from gitexp.api import Repo

    result = Repo(".").fsck_remote(args.remote, credentials=dict(os.environ), jobs=args.jobs)
    if args.json:
        out_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    for key, problem in result.faults:
        say(f"bad: {key}: {problem}")
    say(
        f"checked {result.packs} packs, {result.objects} objects and "
        f"{result.chunk_lists} chunk lists on {result.remote} (layout {result.layout})"
        + (f"; {result.unfinished} unfinished packs" if result.unfinished else "")
    )
    if result.faults:
        say(
            f"error: {len(result.faults)} faults on the storage remote; push the data again "
            "from a clone that has it"
        )
        return 1
    return 0


def main(args: argparse.Namespace) -> int:
    """Run it: one API call, then render; returns the exit code."""
    import orjson

    from gitexp.api import Repo

    if args.jobs is not None and args.jobs < 1:
        say("error: --jobs must be 1 or more")
        return 2
    if args.remote:
        return remote(args)
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
