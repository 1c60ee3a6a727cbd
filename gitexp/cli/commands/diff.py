"""``gitexp diff``."""

from __future__ import annotations

import argparse

from gitexp.cli import render
from gitexp.cli.console import out, out_bytes, say


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "a", nargs="?", metavar="A", help="experiment, branch, tag or commit (old side)"
    )
    parser.add_argument(
        "b", nargs="?", metavar="B", help="the new side (default: A's baseline is old, A new)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json

    diff = Repo(".").diff(args.a, args.b)
    if args.json:
        out_bytes(dumps_json(diff.to_json(), indent=True))
        return 0
    a, b = (diff.a or "-")[:8], (diff.b or "-")[:8]
    say(f"comparing {a} (old) with {b} (new)")
    printed = False
    for section, changes in (("params", diff.params), ("metrics", diff.metrics)):
        rows = [
            [
                f"{file}:{key}" if len(changes) > 1 else key,
                change.old,
                change.new,
                *([change.change] if section == "metrics" else []),
            ]
            for file, keys in changes.items()
            for key, change in keys.items()
        ]
        if rows:
            headers = ["Param" if section == "params" else "Metric", "Old", "New"]
            render.table(headers + (["Change"] if section == "metrics" else []), rows)
            out()
            printed = True
    if diff.artifacts:
        render.table(
            ["Artifact", "Old", "New"],
            [[item.path, _short(item.old), _short(item.new)] for item in diff.artifacts],
        )
        out()
        printed = True
    if diff.files:
        render.table(["File", "Status"], [[f.path, f.status] for f in diff.files])
        printed = True
    if not printed:
        say("no differences")
    return 0


def _short(value: object) -> str | None:
    return None if value is None else str(value)[:19]
