"""``gitexp apply``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import say


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the experiment")
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="apply over uncommitted changes, saving them in a stash ref first",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo

    result = Repo(".").apply(args.name, force=args.force)
    if result.stash_ref:
        files = " ".join(result.saved)
        say(f"saved your uncommitted changes in {result.stash_ref}")
        say(f"  bring them back with: git checkout {result.stash_ref} -- {files}")
    for item in result.data.get("saved", []):  # type: ignore[attr-defined]
        say(
            f"stored your version of {item['path']} in the cache as {item['hash']} "
            "before overwriting it"
        )
    for path in result.data.get("written", []):  # type: ignore[attr-defined]
        say(f"checked out the experiment's data {path}")
    missing = [str(m["path"]) for m in result.data.get("missing", [])]  # type: ignore[attr-defined]
    if missing:
        say(
            f"warning: the cache lacks the data of {', '.join(missing)}; "
            "run `gitexp pull` and then `gitexp checkout`"
        )
    changed = len(result.written) + len(result.deleted)
    say(
        f"applied '{args.name}': {len(result.written)} file(s) written, "
        f"{len(result.deleted)} deleted"
        if changed
        else f"the workspace already matches '{args.name}'"
    )
    return 0
