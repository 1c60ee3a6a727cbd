"""``gitexp compare``."""

from __future__ import annotations

import argparse

from gitexp.cli import render
from gitexp.cli.console import out, out_bytes, say


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gitexp compare``."""
    parser.add_argument("a", metavar="BRANCH_A", help="a branch, tag or commit")
    parser.add_argument("b", metavar="BRANCH_B", help="the branch, tag or commit to compare with")
    parser.add_argument(
        "--metric", metavar="KEY", help="the metric that ranks experiments (default: the first one)"
    )
    parser.add_argument(
        "--desc", action="store_true", help="higher is better (default: lower is better)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Compare the experiments of two branches; render the result."""
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json

    result = Repo(".").compare(args.a, args.b, metric=args.metric, descending=args.desc)
    if args.json:
        out_bytes(dumps_json(result, indent=True))
        return 0
    a, b = result["a"], result["b"]
    assert isinstance(a, dict) and isinstance(b, dict)  # noqa: S101 - built by compare
    metric = str(result["metric"])
    better = "highest" if result["order"] == "descending" else "lowest"
    say(
        f"comparing the experiments of {args.a} (A) and {args.b} (B) by {metric} ({better} is best)"
    )
    for side, tag in ((a, "A"), (b, "B")):
        if side["scope"] == "all":
            say(f"{tag}: {side['ref']} has no commits of its own, so all its experiments count")
    _summary(a, b, metric)
    _bests(result, a, b)
    return 0


def _summary(a: dict[str, object], b: dict[str, object], metric: str) -> None:
    def best(side: dict[str, object], field: str) -> object:
        value = side["best"]
        return value.get(field) if isinstance(value, dict) else None

    rows = [
        ["experiments", a["count"], b["count"]],
        ["failed", a["failed"], b["failed"]],
        [f"with {metric}", a["with_metric"], b["with_metric"]],
        ["best", best(a, "name"), best(b, "name")],
        [f"best {metric}", best(a, "value"), best(b, "value")],
        [f"median {metric}", a["median"], b["median"]],
        [f"min {metric}", a["min"], b["min"]],
        [f"max {metric}", a["max"], b["max"]],
        [f"stdev {metric}", a["stdev"], b["stdev"]],
    ]
    render.table(["", f"A: {a['ref']}", f"B: {b['ref']}"], rows)


def _bests(result: dict[str, object], a: dict[str, object], b: dict[str, object]) -> None:
    if not (isinstance(a["best"], dict) and isinstance(b["best"], dict)):
        out()
        say("a side has no successful experiment with the metric, so there are no bests to diff")
        return
    name_a, name_b = a["best"]["name"], b["best"]["name"]
    params = result["params"]
    assert isinstance(params, dict)  # noqa: S101 - built by compare
    rows = [
        [key if len(params) == 1 else f"{file}:{key}", change["a"], change["b"]]
        for file, keys in params.items()
        for key, change in keys.items()
    ]
    out()
    if rows:
        render.table(
            ["Param", f"A: {name_a}", f"B: {name_b}"],
            rows,
            title="Params that differ between the bests",
        )
    else:
        out(f"The bests ({name_a}, {name_b}) have the same params.")
    files = result["files"]
    assert isinstance(files, list)  # noqa: S101 - built by compare
    out()
    if files:
        render.table(
            ["File", "Status (A → B)"],
            [[f["path"], f["status"]] for f in files],
            title="Code files that differ between the bests",
        )
    else:
        out("The bests have the same code.")
