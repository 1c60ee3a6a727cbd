"""``gitexp hook NAME [ARGS…]``: what the scripts in git's hooks folder run.

git's arguments and standard input are passed on as they came. Run by the
pre-commit framework (``PRE_COMMIT=1``, no arguments), the ``PRE_COMMIT_*``
variables stand in for them. Messages start with ``gitexp:`` so they stand out in
git's output; the exit code is 1 when the hook refuses (git then stops), else 0.
"""

from __future__ import annotations

import argparse
import os
import sys

from gitexp.api import HOOK_NAMES
from gitexp.cli.console import say

PUSHING = "GITEXP_PUSHING"
"""Set by ``gitexp push`` for the git push it runs: the data has moved already."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", choices=HOOK_NAMES, help=", ".join(HOOK_NAMES))
    parser.add_argument(
        "args", metavar="ARG", nargs=argparse.REMAINDER, help="the arguments git gives the hook"
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import READS_STDIN, run_hook

    stdin = ""
    if args.name in READS_STDIN and not sys.stdin.isatty():
        stdin = sys.stdin.read()
    words = list(args.args)
    if os.environ.get("PRE_COMMIT") == "1" and not words:
        words, stdin = _from_pre_commit(args.name, stdin)
    result = run_hook(
        args.name,
        words,
        stdin,
        credentials=_credentials,
        data_pushed=os.environ.get(PUSHING) == "1",
    )
    for line in result.notes:
        say(f"gitexp: {line}")
    for line in result.warnings:
        say(f"gitexp: warning: {line}")
    for error in result.errors:
        say(f"gitexp: error: {error.message}" + (f"; {error.hint}" if error.hint else ""))
    for line in result.advice:
        say(f"gitexp: {line}")
    return 1 if result.errors else 0


def _credentials() -> dict[str, str]:
    from gitexp.cli.commands.push import credentials

    return credentials()


def _from_pre_commit(name: str, stdin: str) -> tuple[list[str], str]:
    """The arguments and input git would give, from the pre-commit framework's variables."""
    env = os.environ.get
    if name == "pre-push":
        remote = env("PRE_COMMIT_REMOTE_NAME", "")
        fields = [
            env("PRE_COMMIT_LOCAL_BRANCH") or "HEAD",
            env("PRE_COMMIT_TO_REF") or _head(),
            env("PRE_COMMIT_REMOTE_BRANCH") or "HEAD",
            env("PRE_COMMIT_FROM_REF") or "0" * 40,
        ]
        return [remote, env("PRE_COMMIT_REMOTE_URL") or remote], " ".join(fields) + "\n"
    if name == "post-checkout":
        return [
            env("PRE_COMMIT_FROM_REF", ""),
            env("PRE_COMMIT_TO_REF", ""),
            env("PRE_COMMIT_CHECKOUT_TYPE", ""),
        ], stdin
    if name == "post-merge":
        return [env("PRE_COMMIT_IS_SQUASH_MERGE", "0")], stdin
    if name == "post-rewrite":
        return [env("PRE_COMMIT_REWRITE_COMMAND", "")], stdin
    return [], stdin


def _head() -> str:
    from gitexp.api import head_commit

    return head_commit() or "0" * 40
