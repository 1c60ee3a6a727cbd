"""``gitexp remote add|list|remove|default|modify``: storage remotes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gitexp.cli.console import out, out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import Repo


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add", help="declare a storage remote", description="Declare a storage remote."
    )
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "url", metavar="URL", help="a path, file://, s3://, gs://, az://, ssh://, https://"
    )
    add.add_argument("-d", "--default", action="store_true", help="make it the default remote")
    add.add_argument(
        "--local",
        action="store_true",
        help="keep it in the local config (this clone only, never committed)",
    )
    add.add_argument(
        "-o",
        "--option",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="an option such as endpoint_url=http://host:9000 (repeatable)",
    )
    add.add_argument("-f", "--force", action="store_true", help="replace a remote of that name")
    lst = sub.add_parser("list", help="the storage remotes", description="The storage remotes.")
    lst.add_argument("--json", action="store_true", help="print JSON")
    rm = sub.add_parser(
        "remove",
        help="forget a storage remote (its data stays)",
        description="Forget a storage remote; its stored objects are not touched.",
    )
    rm.add_argument("name", metavar="NAME")
    default = sub.add_parser(
        "default",
        help="set the default storage remote",
        description="Set the default storage remote.",
    )
    default.add_argument("name", metavar="NAME")
    modify = sub.add_parser(
        "modify",
        help="set or unset one option (secrets with --local)",
        description="Set or unset one option of a storage remote; secrets such as key, "
        "secret, password or connection_string only with --local.",
    )
    modify.add_argument("name", metavar="NAME")
    modify.add_argument("option", metavar="OPTION")
    modify.add_argument("value", metavar="VALUE", nargs="?")
    modify.add_argument("--unset", action="store_true", help="remove the option")
    modify.add_argument("--local", action="store_true", help="write the local config")
    upgrade = sub.add_parser(
        "upgrade",
        help="move a storage remote to layout 2 (packs)",
        description="Move a storage remote to layout 2: small objects into packs, then the "
        "marker, then the loose copies removed; every object stays readable throughout. "
        "Running it again does nothing more.",
    )
    upgrade.add_argument("name", metavar="NAME")
    upgrade.add_argument("-j", "--jobs", type=int, metavar="N", help="N transfers at a time")
    parser.set_defaults(func=main)


def _value(text: str) -> str | int | bool:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if text.isdigit() else text


def _add(repo: Repo, args: argparse.Namespace) -> None:
    from gitexp.errors import UsageError

    options: dict[str, str | int | bool] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"-o takes KEY=VALUE, not {item!r}")
        options[key] = _value(value)
    to_make = repo.remote_add(
        args.name,
        args.url,
        options=options,
        default=args.default,
        local=args.local,
        force=args.force,
    )
    say(f"added storage remote '{args.name}'" + (" (default)" if args.default else ""))
    if to_make is not None:
        say(f"note: {to_make} does not exist yet: the first push creates it")


def main(args: argparse.Namespace) -> int:
    """Parse, call the API once, render; returns the exit code."""
    from gitexp.api import Repo
    from gitexp.errors import UsageError

    repo = Repo(".")
    if args.action == "add":
        _add(repo, args)
    elif args.action == "list":
        rows = repo.remote_list()
        if args.json:
            import orjson

            doc = {"remotes": [row.to_json() for row in rows]}
            out_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        for row in [] if args.json else rows:
            mark = "*" if row.default else " "
            opts = " ".join(f"{k}={v}" for k, v in row.options.items())
            out(f"{mark} {row.name}\t{row.url}" + (f"\t{opts}" if opts else ""))
    elif args.action == "remove":
        repo.remote_remove(args.name)
        say(f"removed storage remote '{args.name}'")
    elif args.action == "upgrade":
        import os

        done = repo.remote_upgrade(args.name, credentials=dict(os.environ), jobs=args.jobs)
        if done.before == done.after:
            say(f"storage remote '{args.name}' is already layout {done.after}")
        else:
            say(
                f"storage remote '{args.name}' is now layout {done.after} "
                f"({done.packed} objects packed)"
            )
    elif args.action == "default":
        repo.remote_default(args.name)
        say(f"'{args.name}' is now the default storage remote")
    else:
        if args.unset == (args.value is not None):
            raise UsageError("give a VALUE, or --unset")
        repo.remote_modify(
            args.name, args.option, None if args.unset else _value(args.value), local=args.local
        )
        say(f"{'unset' if args.unset else 'set'} '{args.option}' of storage remote '{args.name}'")
    return 0
