"""``gitexp add``."""

from __future__ import annotations

import argparse
import os

from gitexp.cli.console import out_bytes, say, warn


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("paths", metavar="PATH", nargs="+", help="files or folders to track")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run it: one API call, then render; returns the exit code."""
    import orjson

    from gitexp.api import Repo
    from gitexp.cli.progress import file_counter
    from gitexp.core.sizes import format_size

    with file_counter("adding") as on_file:
        results = Repo(".").add(args.paths, cwd=os.getcwd(), on_file=on_file)
    if args.json:
        added = [item.to_json() for item in results]
        out_bytes(orjson.dumps({"added": added}, option=orjson.OPT_INDENT_2))
    to_stage: list[str] = []
    for item in results:
        what = f"{item.files} files, " if item.kind == "dir" else ""
        verb = "added" if item.changed else "unchanged"
        say(f"{verb} {item.path} ({what}{format_size(item.size)}) {item.hash}")
        skipped = item.skipped
        if skipped:
            warn(
                f"{len(skipped)} links or special files in {item.path} were not added: "
                + ", ".join(skipped[:3])
                + (" …" if len(skipped) > 3 else "")
            )
        to_stage.append(item.pointer)
        if item.gitignore:
            to_stage.append(item.gitignore)
    if any(item.changed or item.gitignore for item in results):
        say("to record this in git, run: git add " + " ".join(dict.fromkeys(to_stage)))
    return 0
