"""``gitexp plots``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out_bytes, say, warn


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gitexp plots``."""
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="experiments to draw (default: every experiment)"
    )
    parser.add_argument(
        "--metric",
        metavar="KEY",
        action="append",
        default=[],
        help="a series to draw: its key, column or file (repeat; default: every series)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        required=True,
        help="where to write: FILE.html (interactive), FILE.svg or FILE.png",
    )
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Draw the series; say what was written."""
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json

    result = Repo(".").plots(args.names, metrics=args.metric, output=args.output)
    if args.json:
        out_bytes(dumps_json(result.to_json(), indent=True))
        return 0
    runs, keys, skipped = result.experiments, result.series, result.without_series
    if skipped:
        shown = ", ".join(skipped[:8]) + (", …" if len(skipped) > 8 else "")
        warn(f"{len(skipped)} experiment(s) have none of these series and are not drawn: {shown}")
    say(
        f"wrote {args.output}: {len(keys)} chart{'s' if len(keys) != 1 else ''} "
        f"({', '.join(map(str, keys[:6]))}{', …' if len(keys) > 6 else ''}) "
        f"of {len(runs)} experiment{'s' if len(runs) != 1 else ''}"
    )
    return 0
