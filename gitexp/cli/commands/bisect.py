"""``gitexp bisect GOOD BAD --metric KEY --threshold X``: the commit that made a metric worse."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gitexp.cli.console import out, out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import BisectResult


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("good", metavar="GOOD", help="a commit whose metric is fine")
    parser.add_argument("bad", metavar="BAD", help="a later commit whose metric is worse")
    parser.add_argument("--metric", metavar="KEY", required=True, help="the metric to watch")
    parser.add_argument(
        "--threshold",
        metavar="X",
        type=float,
        required=True,
        help="a commit is bad when its metric is worse than X",
    )
    parser.add_argument(
        "--goal",
        choices=("max", "min"),
        help="max: below X is worse, min: above X is worse "
        "(default: goals: in gitexp.yaml, else the metric's name)",
    )
    parser.add_argument(
        "--executor",
        metavar="E",
        default="local",
        help="where to run: local (worktrees; default), dask (a Dask cluster here) or "
        "dask://HOST:PORT (an existing Dask scheduler; its workers use origin and the storage "
        "remote)",
    )
    parser.add_argument(
        "--git-remote",
        metavar="NAME",
        help="with --executor dask://HOST:PORT: the git remote its workers get the runs from "
        "and record them on (default: origin, as for push)",
    )
    parser.add_argument(
        "-r", "--remote", metavar="NAME", help="storage remote for missing data (default: default)"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument(
        "--command",
        dest="run_command",
        metavar="CMD",
        help="what to run at each commit, as one line (default: 'command' in gitexp.yaml there)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Bisect; print the path taken and the first bad commit."""
    from gitexp.api import Repo
    from gitexp.cli.commands.push import credentials
    from gitexp.cli.commands.reproduce import echo_to_stderr
    from gitexp.cli.signals import deferred

    words = [args.run_command] if args.run_command else []
    with deferred() as stop:
        result = Repo(".").bisect(
            args.good,
            args.bad,
            metric=args.metric,
            threshold=args.threshold,
            goal=args.goal,
            command=words,
            executor=args.executor,
            remote=args.remote,
            credentials=credentials(),
            notify=say,
            stop=stop,
            on_output=echo_to_stderr,
            git_remote=args.git_remote,
        )
    if args.json:
        from gitexp.core.formats import dumps_json

        out_bytes(dumps_json(result.to_json(), indent=True))
        return 0
    _log(result)
    return 0


def _log(result: BisectResult) -> None:
    """The commits judged, in ``git log`` style in the order bisect took them, then the answer."""
    worse = "below" if result.goal == "max" else "above"
    out(f"# bad: {result.metric} {worse} {result.threshold:g}; {result.commits} commit(s) searched")
    for number, step in enumerate(result.steps, 1):
        verdict = "bad" if step.bad else "good"
        how = "ran" if step.ran else "reused"
        out(f"commit {step.commit} ({verdict}, step {number})")
        out(f"    {result.metric} = {step.value:g}  ({how} experiment '{step.experiment}')")
        out(f"    {step.subject}")
        out()
    first = result.first_bad
    out(f"{first.commit} is the first bad commit")
    out(f"    {first.subject}")
    out(f"    {result.metric} = {first.value:g} (experiment '{first.experiment}')")
    reused = len(result.steps) - result.runs
    say(f"{result.runs} run(s), {reused} experiment(s) reused")
