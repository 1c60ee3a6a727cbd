"""``gitexp list``."""

from __future__ import annotations

import argparse

from gitexp.cli import render
from gitexp.cli.console import out, out_bytes, say


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument(
        "--names-only", action="store_true", help="print only the names, one a line"
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json

    rows = Repo(".").list(notify=say)
    if args.json:
        out_bytes(dumps_json({"experiments": [r.to_json() for r in rows]}, indent=True))
    elif args.names_only:
        for row in rows:
            out(row.name)
    elif not rows:
        say("no experiments yet; run one with `gitexp run -- COMMAND`")
    else:
        render.table(
            ["Experiment", "Status", "Created", "Baseline", "Branch"],
            [[r.name, r.status, r.created, r.baseline[:8], r.branch] for r in rows],
        )
    return 0
