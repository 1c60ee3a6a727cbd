"""``gitexp compare``."""

from __future__ import annotations

import argparse

from gitexp.cli import render
from gitexp.cli.console import out, out_bytes, say
from gitexp.errors import UsageError


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
        out_bytes(dumps_json(result, indent=True))
        return 0
    a, b = result["a"], result["b"]
    assert isinstance(a, dict) and isinstance(b, dict)  # noqa: S101 - built by compare
    metric = str(result["metric"])
    for side, tag in ((a, "A"), (b, "B")):
        if side["scope"] == "all":
            say(f"{tag}: {side['ref']} has no commits of its own, so all its experiments count")
    out(_ranked_by(result))
    out()
    _summary(a, b, metric)
    _bests(result, a, b)
    return 0


def _ranked_by(result: dict[str, object]) -> str:
    """One line that says by which metric, which way, and why: no silent direction."""
    metric, goal = result["metric"], result["goal"]
    better = "higher" if goal == "max" else "lower"
    why = {
        "--goal": "as --goal says",
        "gitexp.yaml": "as goals: in gitexp.yaml says",
    }.get(str(result["goal_source"]), "as its name says")
    line = f"Ranked by {metric}: {better} is better ({why})"
    if result["metric_source"] == "first":
        line += "; the first metric, choose another with --metric KEY"
    return line + "."


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
        ["best commit", _short(best(a, "commit")), _short(best(b, "commit"))],
        ["best baseline", _short(best(a, "baseline")), _short(best(b, "baseline"))],
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
    out()
    _data(result, a["best"], b["best"])


def _data(result: dict[str, object], best_a: dict[str, object], best_b: dict[str, object]) -> None:
    """Which version of each dataset and artifact each best used, differences first."""
    data_a, data_b = best_a.get("data") or {}, best_b.get("data") or {}
    artifacts = result["artifacts"]
    assert isinstance(data_a, dict) and isinstance(data_b, dict)  # noqa: S101 - built by compare
    assert isinstance(artifacts, list)  # noqa: S101 - built by compare
    differ = {str(item["path"]) for item in artifacts}
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
    render.table(["Path", f"A: {best_a['name']}", f"B: {best_b['name']}", ""], rows, title=title)


def _state(path: str, differ: set[str]) -> str:
    return "differs" if path in differ else "same"


def _short(value: object) -> object:
    """A commit id or ``blake3:`` hash cut to 12 hex digits, as git abbreviates ids."""
    if not isinstance(value, str):
        return value
    algorithm, sep, digits = value.rpartition(":")
    return f"{algorithm}{sep}{digits[:12]}"
