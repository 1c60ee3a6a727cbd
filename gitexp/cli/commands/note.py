"""``gitexp note``: an experiment's note, kept in git notes; its commit never changes."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out, out_bytes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the experiment")
    parser.add_argument(
        "text",
        nargs="?",
        metavar="TEXT",
        help="the new note, replacing the old one ('' clears it); none: print the note",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json

    state = Repo(".").note(args.name, args.text)
    if args.json:
        out_bytes(dumps_json(state.to_json(), indent=True))
    elif state.note and args.text is None:
        out(state.note)
    return 0
