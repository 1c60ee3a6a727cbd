"""``gitexp tag``: tags on an experiment, kept in git notes; its commit never changes."""

from __future__ import annotations

import argparse

from gitexp.cli.console import out, out_bytes


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the experiment")
    parser.add_argument(
        "tags", nargs="*", metavar="TAG", help="tags to add (none: print the experiment's tags)"
    )
    parser.add_argument("-d", "--delete", action="store_true", help="remove the tags instead")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json
    from gitexp.errors import UsageError

    if args.delete and not args.tags:
        raise UsageError("name the tags to remove", hint=f"gitexp tag {args.name} TAG... -d")
    state = Repo(".").tag(args.name, args.tags, delete=args.delete)
    if args.json:
        out_bytes(dumps_json(state.to_json(), indent=True))
    elif state.tags:
        out(" ".join(state.tags))
    return 0
