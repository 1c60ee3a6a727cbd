"""``gitexp apply``: says every change before it makes one."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gitexp.cli.console import say

if TYPE_CHECKING:
    from gitexp.api import ApplyPlan, ApplyResult

_LABELS = ("modified", "added", "deleted", "data")
_WIDTH = max(len(label) for label in _LABELS) + 2


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the command's arguments."""
    parser.add_argument("name", metavar="NAME", help="the experiment")
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="apply over uncommitted changes (saving them in a stash ref first) and over "
        "files committed since the experiment's baseline",
    )
    parser.add_argument(
        "-n",
        "--dry-run",
        action="store_true",
        help="list what apply would change, and change nothing",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Parse, call the API once, render; returns the exit code."""
    from gitexp.api import Repo

    result = Repo(".").apply(args.name, force=args.force, dry_run=args.dry_run, on_plan=show_plan)
    if args.dry_run:
        say("dry run: nothing was changed")
        return 0
    _report(args.name, result)
    return 0


def show_plan(plan: ApplyPlan) -> None:
    """The baseline warning and every change, grouped, on stderr, before apply acts."""
    if plan.empty:
        return
    if plan.baseline is not None and not plan.on_head:
        say(_baseline_line(plan))
    files = len(plan.files)
    data = f" and {len(plan.data)} data path(s)" if plan.data else ""
    say(f"apply '{plan.name}' changes {files} file(s){data}:")
    groups = (plan.modified, plan.added, plan.deleted, plan.data)
    for label, paths in zip(_LABELS, groups, strict=True):
        for path in paths:
            say(f"  {label + ':':<{_WIDTH}}{path}{_mark(plan, path, data=label == 'data')}")


def _baseline_line(plan: ApplyPlan) -> str:
    short = (plan.baseline or "")[:7]
    commits = "1 commit" if plan.behind == 1 else f"{plan.behind} commits"
    reverted = ", ".join(plan.reverted)
    where = f"experiment '{plan.name}' was run on {short}"
    if not plan.diverged:
        where += f", {commits} behind HEAD"
        reverts = f": applying it reverts files changed since: {reverted}"
    else:
        where += ", which is not in HEAD's history"
        where += f" (HEAD has {commits} it lacks)" if plan.behind else ""
        reverts = f": applying it reverts files HEAD changed: {reverted}"
    return where + (reverts if reverted else "")


def _mark(plan: ApplyPlan, path: str, *, data: bool) -> str:
    notes = []
    if any(u == path or u.startswith(path + "/") for u in plan.uncommitted):
        notes.append("uncommitted changes" if not data else "not in the cache")
    if path in plan.reverted:
        notes.append("committed since the baseline")
    return f"  ({'; '.join(notes)})" if notes else ""


def _report(name: str, result: ApplyResult) -> None:
    if result.stash_ref:
        files = " ".join(result.saved)
        say(f"saved your uncommitted changes in {result.stash_ref}")
        say(f"  bring them back with: git checkout {result.stash_ref} -- {files}")
    data = result.data
    for item in data.saved if data else ():
        say(f"stored your version of {item.path} in the cache as {item.hash} before overwriting it")
    for path in data.written if data else ():
        say(f"checked out the experiment's data {path}")
    missing = [m.path for m in data.missing] if data else []
    if missing:
        say(
            f"warning: the cache lacks the data of {', '.join(missing)}; "
            "run `gitexp pull` and then `gitexp checkout`"
        )
    changed = len(result.written) + len(result.deleted)
    say(
        f"applied '{name}': {len(result.written)} file(s) written, {len(result.deleted)} deleted"
        if changed
        else f"the workspace already matches '{name}'"
    )
