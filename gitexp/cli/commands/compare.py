"""``gitexp compare``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gitexp.cli import render
from gitexp.cli.console import out, out_bytes, say
from gitexp.errors import UsageError

if TYPE_CHECKING:
    from gitexp.api import CompareBest, CompareResult, CompareSide


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gitexp compare``."""
    parser.add_argument("a", metavar="BRANCH_A", help="a branch, tag or commit")
    parser.add_argument("b", metavar="BRANCH_B", help="the branch, tag or commit to compare with")
    parser.add_argument(
        "--metric",
        metavar="KEY",
        help="the metric that ranks experiments (default: the first key of the first metrics file)",
    )
    parser.add_argument(
        "--goal",
        choices=("max", "min"),
        help="max: higher is better, min: lower is better "
        "(default: goals: in gitexp.yaml, else the metric's name, else refuse)",
    )
    parser.add_argument("--desc", action="store_true", help="the same as --goal max")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Compare the experiments of two branches; render the result."""
    from gitexp.api import Repo
    from gitexp.core.formats import dumps_json

    if args.desc and args.goal == "min":
        raise UsageError("--desc means --goal max; give one of them")
    goal = "max" if args.desc else args.goal
    result = Repo(".").compare(args.a, args.b, metric=args.metric, goal=goal)
    if args.json:
        out_bytes(dumps_json(result.to_json(), indent=True))
        return 0
    for side, tag in ((result.a, "A"), (result.b, "B")):
        if side.scope == "all":
            say(f"{tag}: {side.ref} has no commits of its own, so all its experiments count")
    out(_ranked_by(result))
    out()
    _summary(result.a, result.b, result.metric)
    _bests(result)
    return 0


def _ranked_by(result: CompareResult) -> str:
    """One line that says by which metric, which way, and why: no silent direction."""
    better = "higher" if result.goal == "max" else "lower"
    why = {
        "--goal": "as --goal says",
        "gitexp.yaml": "as goals: in gitexp.yaml says",
    }.get(result.goal_source, "as its name says")
    line = f"Ranked by {result.metric}: {better} is better ({why})"
    if result.metric_source == "first":
        line += "; the first metric, choose another with --metric KEY"
    return line + "."


def _summary(a: CompareSide, b: CompareSide, metric: str) -> None:
    def best(side: CompareSide, field: str) -> object:
        return getattr(side.best, field) if side.best is not None else None

    rows: list[list[object]] = [
        ["experiments", a.count, b.count],
        ["failed", a.failed, b.failed],
        [f"with {metric}", a.with_metric, b.with_metric],
        ["best", best(a, "name"), best(b, "name")],
        [f"best {metric}", best(a, "value"), best(b, "value")],
        ["best commit", _short(best(a, "commit")), _short(best(b, "commit"))],
        ["best baseline", _short(best(a, "baseline")), _short(best(b, "baseline"))],
        [f"median {metric}", a.median, b.median],
        [f"min {metric}", a.min, b.min],
        [f"max {metric}", a.max, b.max],
        [f"stdev {metric}", a.stdev, b.stdev],
    ]
    render.table(["", f"A: {a.ref}", f"B: {b.ref}"], rows)


def _bests(result: CompareResult) -> None:
    best_a, best_b = result.a.best, result.b.best
    if best_a is None or best_b is None:
        out()
        say("a side has no successful experiment with the metric, so there are no bests to diff")
        return
    params = result.params
    rows = [
        [key if len(params) == 1 else f"{file}:{key}", change["a"], change["b"]]
        for file, keys in params.items()
        for key, change in keys.items()
    ]
    out()
    if rows:
        render.table(
            ["Param", f"A: {best_a.name}", f"B: {best_b.name}"],
            rows,
            title="Params that differ between the bests",
        )
    else:
        out(f"The bests ({best_a.name}, {best_b.name}) have the same params.")
    out()
    if result.files:
        render.table(
            ["File", "Status (A → B)"],
            [[f.path, f.status] for f in result.files],
            title="Code files that differ between the bests",
        )
    else:
        out("The bests have the same code.")
    out()
    _data(result, best_a, best_b)


def _data(result: CompareResult, best_a: CompareBest, best_b: CompareBest) -> None:
    """Which version of each dataset and artifact each best used, differences first."""
    data_a, data_b = best_a.data, best_b.data
    differ = {item.path for item in result.artifacts}
    differ |= {p for p in {*data_a, *data_b} if data_a.get(p) != data_b.get(p)}
    paths = sorted({*data_a, *data_b, *differ}, key=lambda p: (p not in differ, p))
    if not paths:
        out("The bests track no data or artifacts.")
        return
    rows = [
        [path, _short(data_a.get(path)), _short(data_b.get(path)), _state(path, differ)]
        for path in paths
    ]
    title = "Data and artifacts of the bests"
    if not differ:
        title += ": the same versions"
    render.table(["Path", f"A: {best_a.name}", f"B: {best_b.name}", ""], rows, title=title)


def _state(path: str, differ: set[str]) -> str:
    return "differs" if path in differ else "same"


def _short(value: object) -> object:
    """A commit id or ``blake3:`` hash cut to 12 hex digits, as git abbreviates ids."""
    if not isinstance(value, str):
        return value
    algorithm, sep, digits = value.rpartition(":")
    return f"{algorithm}{sep}{digits[:12]}"
