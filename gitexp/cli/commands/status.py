"""``gitexp status``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out, out_bytes, say

SHOWN_CHANGES = 10


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run it: one API call, then render; returns the exit code."""
    import orjson

    from gitexp.api import Repo

    result = Repo(".").status()
    if args.json:
        out_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
        return 0
    lines = result.data
    if not lines:
        say("no tracked data here; track some with `gitexp add PATH`")
        return 0
    width = max(len(line.state) for line in lines)
    for line in lines:
        state = line.state.replace("_", " ")
        out(f"{state:<{width}}  {line.path}")
        changed = line.changed
        for path in changed[:SHOWN_CHANGES]:
            out(f"{'':<{width}}    {path}")
        if len(changed) > SHOWN_CHANGES:
            out(f"{'':<{width}}    … and {len(changed) - SHOWN_CHANGES} more")
    return 0
