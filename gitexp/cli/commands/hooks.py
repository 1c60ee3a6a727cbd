"""``gitexp hooks install|uninstall|status``: gitexp's git hooks in this repository.

They go in the folder git runs hooks from: ``core.hooksPath`` when it is set, else
the hooks folder of the repository's common dir (shared by every worktree). A hook
already there is kept, renamed ``NAME.gitexp-saved``, and runs first; ``uninstall``
puts it back exactly. Installing twice changes nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gitexp.cli.console import out, out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import HookRow

_SAID = {
    "installed": "installed",
    "updated": "updated (it was an older gitexp's)",
    "chained": "installed; your hook is kept as {name}.gitexp-saved and runs first",
    "unchanged": "already installed",
    "removed": "removed",
    "restored": "removed; your hook is back",
    "kept": "not gitexp's: left as it was",
    "absent": "not installed",
}
_STATES = {
    "installed": "installed",
    "outdated": "installed by an older gitexp (run `gitexp hooks install`)",
    "other": "another hook, not gitexp's",
    "absent": "not installed",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("install", "uninstall", "status"),
        help="install: put the hooks in place (keeping yours); uninstall: take them out, "
        "putting yours back; status: what is installed",
    )
    parser.add_argument("--json", action="store_true", help="print the hooks' states as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    import orjson

    from gitexp.api import Repo

    repo = Repo(".")
    if args.action == "install":
        rows = repo.install_hooks()
    elif args.action == "uninstall":
        rows = repo.uninstall_hooks()
    else:
        rows = repo.hooks_status()
    if args.json:
        doc = {"hooks": [row.to_json() for row in rows]}
        out_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        return 0
    if args.action == "status":
        for row in rows:
            chained = ", runs your saved hook first" if row.chained else ""
            out(f"{row.name}: {_STATES[row.state]}{chained}")
        return 0
    say_done(rows)
    return 0


def say_done(rows: Sequence[HookRow]) -> None:
    """One line per hook: what install or uninstall did, then where."""
    for row in rows:
        say(f"{row.name}: {_SAID[str(row.done)].format(name=row.name)}")
    if rows:
        folder = rows[0].path.rsplit("/", 1)[0]
        say(f"hooks folder: {folder}")
