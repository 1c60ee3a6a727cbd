"""``gitexp queue list|start|remove|clear``: runs queued with ``gitexp run --queue``.

A queued run is a commit on ``refs/exps-queue/NAME``; ``start`` takes each by a
compare-and-swap of refs, so several ``queue start`` at once run each run once.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gitexp.cli.console import out, out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import Repo


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "gitexp queue {list,start,remove,clear} [-j N] [--executor E] [--git-remote NAME] "
        "[--json] [NAME...]"
    )
    parser.add_argument(
        "action",
        choices=("list", "start", "remove", "clear"),
        help="list: the queue; start: run it until it is empty; remove: drop NAMEs; "
        "clear: drop every queued run",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="queued runs (remove)")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="start: run N at a time, each in an isolated worktree",
    )
    parser.add_argument(
        "--executor",
        default="local",
        metavar="E",
        help="start: where runs execute: local (worktrees, the default), dask "
        "(a Dask cluster on this machine) or dask://HOST:PORT (an existing Dask "
        "scheduler; workers use origin and the storage remote); pip install 'gitexp[dask]'",
    )
    parser.add_argument(
        "--git-remote",
        metavar="NAME",
        help="with --executor dask://HOST:PORT: the git remote its workers get the runs from "
        "and record them on (default: origin, as for push)",
    )
    parser.add_argument("--json", action="store_true", help="list: print the queue as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo
    from gitexp.errors import UsageError

    repo = Repo(".")
    if args.names and args.action != "remove":
        raise UsageError(f"`gitexp queue {args.action}` takes no names")
    if args.action == "list":
        return _list(repo, args.json)
    if args.action == "start":
        return _start(repo, args.jobs, args.executor, args.git_remote)
    removed = repo.queue_remove(args.names, every=args.action == "clear")
    say(f"removed {len(removed)} queued run(s)")
    return 0


def _list(repo: Repo, as_json: bool) -> int:
    import orjson

    runs = repo.queue_list()
    if as_json:
        doc = {"queue": [run.to_json() for run in runs]}
        out_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        return 0
    if not runs:
        say("the queue is empty")
    for run in runs:
        sets = " ".join(f"{k}={v}" for keys in run.overrides.values() for k, v in keys.items())
        out(f"{run.name}\t{run.status}\t{run.created}\t{sets}".rstrip())
    return 0


def _start(repo: Repo, jobs: int, executor: str, git_remote: str | None) -> int:
    from gitexp.cli.commands.run import report_result
    from gitexp.cli.liveruns import live_runs
    from gitexp.cli.signals import deferred

    with deferred() as stop, live_runs(repo, report_result) as on_result:
        results = repo.queue_start(
            jobs, executor=executor, notify=say, on_result=on_result, stop=stop,
            git_remote=git_remote,
        )  # fmt: skip
    failed = sum(r.status not in ("success", "pruned") for r in results)
    say(f"ran {len(results)} queued run(s), {failed} failed")
    if failed:
        say("see a run's output with `git show refs/experiments/NAME:.gitexp/output.log`")
    return 1 if failed else 0
