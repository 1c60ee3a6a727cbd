"""``gitexp reproduce NAME``: run it again from its own commit and data, and compare."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from gitexp.cli import render
from gitexp.cli.console import out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import ReproduceResult


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("name", metavar="NAME", help="the experiment to run again")
    parser.add_argument(
        "--tolerance",
        metavar="X",
        help="how far each metric may move: absolute (0.001) or relative (1%%); default: exact",
    )
    parser.add_argument(
        "-n", "--name", dest="new_name", metavar="NEW", help="the new experiment's name"
    )
    parser.add_argument(
        "-r",
        "--remote",
        metavar="NAME",
        help="storage remote for missing data (default: the default)",
    )
    parser.add_argument(
        "--executor",
        metavar="E",
        default="local",
        help="where to run: local (a worktree; default), dask (a Dask cluster here) or "
        "dask://HOST:PORT (an existing Dask scheduler; its workers use origin and the storage "
        "remote)",
    )
    parser.add_argument(
        "--git-remote",
        metavar="NAME",
        help="with --executor dask://HOST:PORT: the git remote its workers get the runs from "
        "and record them on (default: origin, as for push)",
    )
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run again, render the comparison; exit 1 when it did not reproduce."""
    from gitexp.api import Repo
    from gitexp.cli.commands.push import credentials
    from gitexp.cli.signals import deferred

    with deferred() as stop:
        result = Repo(".").reproduce(
            args.name,
            tolerance=args.tolerance,
            new_name=args.new_name,
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
    else:
        _show(result)
    _environment(result)
    if not result.reproduced:
        say(f"error: {_verdict(result)}")
        return 130 if result.status == "interrupted" else 1
    say(_verdict(result))
    return 0


def echo_to_stderr(chunk: bytes, _is_err: bool) -> None:
    """The command's output as it comes, all on stderr: stdout holds the result."""
    sys.stderr.flush()
    sys.stderr.buffer.write(chunk)
    sys.stderr.buffer.flush()


def _show(result: ReproduceResult) -> None:
    rows = [
        [m.key, m.old, m.new, m.abs_diff, m.rel_diff, "yes" if m.within else "NO"]
        for m in result.metrics
    ]
    render.table(["metric", "old", "new", "abs diff", "rel diff", "within"], rows)


def _environment(result: ReproduceResult) -> None:
    """Every difference in where the two runs ran, on stderr (with --json too)."""
    if result.environment:
        say("differences in the environment:")
        for change in result.environment:
            say(f"  {change.kind}: {change.describe()}")
    else:
        say("no difference in Python, platform or packages")


def _verdict(result: ReproduceResult) -> str:
    where = f"experiment '{result.experiment}' ({result.experiment_commit[:8]})"
    if result.status != result.original_status:
        return (
            f"'{result.name}' did not reproduce: the run again ended {result.status} "
            f"(it had ended {result.original_status}); see "
            f"`git show refs/experiments/{result.experiment}:.gitexp/output.log`"
        )
    drifted = [m.key for m in result.metrics if not m.within]
    if drifted:
        return (
            f"'{result.name}' did not reproduce within tolerance {result.tolerance}: "
            f"{', '.join(drifted)} drifted (the run again is {where})"
        )
    ended = "" if result.status == "success" else f" (it ended {result.status} again)"
    return (
        f"'{result.name}' reproduced{ended}: {len(result.metrics)} metric(s) within tolerance "
        f"{result.tolerance}, recorded as {where}"
    )
