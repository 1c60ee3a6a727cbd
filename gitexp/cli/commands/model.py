"""``gitexp model register|alias|list|get``: a model registry kept in git."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING

from gitexp.cli import render
from gitexp.cli.console import out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import Model, Repo


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    reg = sub.add_parser(
        "register",
        help="make an experiment's model the next version (a tag model/NAME/vN)",
        description="Make an experiment's model the next version of NAME: an annotated tag "
        "model/NAME/vN at the experiment's commit.",
    )
    reg.add_argument("name", metavar="NAME", help="the model")
    reg.add_argument("--from", dest="experiment", metavar="EXP", required=True)
    reg.add_argument(
        "--path", metavar="P", help="the model file in the experiment (default: its one out)"
    )
    reg.add_argument("--json", action="store_true", help="print the version as JSON")
    alias = sub.add_parser(
        "alias",
        help="point an alias (prod, staging, ...) at a version, by compare-and-swap",
        description="Point ALIAS of model NAME at version vN (refs/models/NAME/ALIAS). If "
        "someone moves it at the same time, one of you gets a conflict and nothing is lost.",
    )
    alias.add_argument("name", metavar="NAME")
    alias.add_argument("version", metavar="vN")
    alias.add_argument("alias", metavar="ALIAS")
    alias.add_argument(
        "--expect",
        metavar="vM|none",
        help="move it only if it points at vM now (none: only if it does not exist)",
    )
    alias.add_argument("--json", action="store_true", help="print the result as JSON")
    lst = sub.add_parser(
        "list", help="registered models, versions and aliases", description="Registered models."
    )
    lst.add_argument("name", metavar="NAME", nargs="?", help="only this model, every version")
    lst.add_argument("--json", action="store_true", help="print JSON")
    get = sub.add_parser(
        "get",
        help="write a version's model file, verified (from the cache or the storage remote)",
        description="Write the model file of NAME (latest), NAME@vN or NAME:ALIAS, verified, "
        "from the cache or else the storage remote.",
    )
    get.add_argument("spec", metavar="NAME[@vN|:ALIAS]")
    get.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where (default: its file name, at the repository's root)",
    )
    get.add_argument("-r", "--remote", metavar="NAME", help="storage remote (default: the default)")
    get.add_argument("-f", "--force", action="store_true", help="replace what PATH holds")
    get.add_argument("--json", action="store_true", help="print what was written as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run one ``model`` action."""
    from gitexp.api import Repo

    repo = Repo(".")
    return {"register": _register, "alias": _alias, "list": _list, "get": _get}[args.action](
        repo, args
    )


def _dump(doc: object) -> None:
    from gitexp.core.formats import dumps_json

    out_bytes(dumps_json(doc, indent=True))


def _register(repo: Repo, args: argparse.Namespace) -> int:
    version = repo.model_register(args.name, experiment=args.experiment, path=args.path)
    if args.json:
        _dump(version.to_json())
        return 0
    say(
        f"registered model '{version.name}' v{version.version} (tag {version.tag}): "
        f"{version.path} of experiment '{version.experiment}'"
    )
    return 0


def _alias(repo: Repo, args: argparse.Namespace) -> int:
    result = repo.model_alias(args.name, args.version, args.alias, expect=args.expect)
    if args.json:
        _dump(result.to_json())
        return 0
    was = f"v{result.previous}" if result.previous is not None else "nothing"
    if result.moved:
        say(f"moved '{result.alias}' of model '{result.name}' from {was} to v{result.version}")
    else:
        say(f"'{result.alias}' of model '{result.name}' already points at v{result.version}")
    return 0


def _list(repo: Repo, args: argparse.Namespace) -> int:
    found = repo.model_list(args.name)
    if args.json:
        _dump({"models": [m.to_json() for m in found]})
        return 0
    if not found:
        say("no models registered; register one with `gitexp model register NAME --from EXP`")
        return 0
    rows = [row for model in found for row in _rows(model, every=args.name is not None)]
    render.table(["model", "version", "aliases", "experiment", "path", "size", "created"], rows)
    return 0


def _rows(model: Model, *, every: bool) -> list[list[object]]:
    by_version: dict[int, list[str]] = {}
    for alias, number in sorted(model.aliases.items()):
        by_version.setdefault(number, []).append(alias)
    shown = model.versions if every else model.versions[-1:]
    rows: list[list[object]] = []
    for v in reversed(shown):
        created = dt.datetime.fromtimestamp(v.created, dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        aliases = ",".join(by_version.get(v.version, [])) or "-"
        rows.append([v.name, f"v{v.version}", aliases, v.experiment, v.path, v.size, created])
    if not every:
        pointed = {n for n in by_version if n != model.versions[-1].version}
        for number in sorted(pointed, reverse=True):
            v = next(x for x in model.versions if x.version == number)
            rows.append(
                [
                    v.name,
                    f"v{number}",
                    ",".join(by_version[number]),
                    v.experiment,
                    v.path,
                    v.size,
                    "",
                ]
            )
    return rows


def _get(repo: Repo, args: argparse.Namespace) -> int:
    from gitexp.cli.commands.push import credentials

    result = repo.model_get(
        args.spec,
        output=args.output,
        remote=args.remote,
        credentials=credentials(),
        force=args.force,
    )
    if args.json:
        _dump(result.to_json())
        return 0
    where = " (pulled from the storage remote)" if result.pulled else ""
    done = "wrote" if result.written else "already up to date:"
    say(f"{done} {result.output}: model '{result.name}' v{result.version}, {result.hash}{where}")
    return 0
