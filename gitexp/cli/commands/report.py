"""``gitexp report``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out_bytes, say


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gitexp report``."""
    parser.add_argument(
        "--branch",
        metavar="B",
        action="append",
        default=[],
        help="only experiments whose baseline is reachable from B (branch, tag or commit)",
    )
    parser.add_argument(
        "-o", "--output", metavar="FILE.html", required=True, help="where to write the page"
    )
    parser.add_argument("--title", help="the page's title (default: the repository's folder name)")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Write the report; say what was written."""
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json
    from gitexp.core.sizes import format_size

    result = Repo(".").report(output=args.output, branches=args.branch, title=args.title)
    if args.json:
        out_bytes(dumps_json(result.to_json(), indent=True))
        return 0
    count = result.experiments
    size = format_size(result.bytes)
    say(
        f"wrote {args.output} ({size}): {count} experiment{'s' if count != 1 else ''}; "
        "open it in a browser"
    )
    return 0
