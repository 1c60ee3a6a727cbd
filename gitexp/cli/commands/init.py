"""``gitexp init``."""

from __future__ import annotations

import argparse

from gitexp.cli.console import say


def configure(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo

    repo = Repo(".")
    written = repo.init()
    for path in written:
        say(f"wrote {path}")
    if not written:
        say("gitexp is already set up here (gitexp.yaml exists)")
    say("next: commit gitexp.yaml, then `gitexp run -- python train.py`")
    return 0
