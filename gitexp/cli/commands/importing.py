"""``gitexp import dvc [PATH]`` and ``gitexp import mlflow DIR|URI``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gitexp.cli.console import out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import ImportResult


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the command's arguments."""
    sub = parser.add_subparsers(dest="source", metavar="SOURCE", required=True)
    dvc = sub.add_parser(
        "dvc",
        help="a DVC project: .dvc data as pointers, remotes, experiments",
        description="Import a DVC project: each .dvc file (and each cached output in "
        "dvc.lock) gets a .gitexp pointer beside it, its content verified against DVC's "
        "md5; DVC's remotes become storage remotes; DVC experiments (refs/exps/) become "
        "experiments. DVC's files are only read; importing again changes nothing.",
    )
    dvc.add_argument(
        "path", metavar="PATH", nargs="?", help="the DVC project's folder (default: the root)"
    )
    dvc.add_argument("--json", action="store_true", help="print the result as JSON")
    mlflow = sub.add_parser(
        "mlflow",
        help="MLflow runs: params, metric steps, artifacts, tags",
        description="Import MLflow runs: each becomes an experiment on the commit in its "
        "mlflow.source.git.commit tag (else HEAD), with its params, every metric step as "
        "a series and its artifacts in the cache. A file store (a mlruns folder or file: "
        "URI) needs no MLflow; other tracking URIs need gitexp[mlflow]. Runs imported "
        "before are skipped.",
    )
    mlflow.add_argument("uri", metavar="DIR|URI", help="a mlruns folder or a tracking URI")
    mlflow.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run it: one API call, then render; returns the exit code."""
    import os

    import orjson

    from gitexp.api import Repo

    repo = Repo(".")
    dvc = args.source == "dvc"
    path = os.path.abspath(args.path) if dvc and args.path else None
    result = repo.import_dvc(path) if dvc else repo.import_mlflow(args.uri)
    if args.json:
        out_bytes(orjson.dumps(result.to_json(), option=orjson.OPT_INDENT_2))
    _render(result)
    return 0


def _render(result: ImportResult) -> None:
    for note in result.notes:
        say(f"note: {note}")
    if result.pointers:
        say(f"wrote pointers for {len(result.pointers)} data paths: {', '.join(result.pointers)}")
    for name in result.remotes:
        say(f"added storage remote '{name}'")
    for exp in result.experiments:
        say(f"imported {exp.source_id} as experiment '{exp.name}'")
    if result.skipped:
        say(f"skipped {len(result.skipped)} already imported")
    if not result.changed:
        say(f"nothing new to import from {result.source}")
    elif result.pointers or result.remotes:
        say("commit the pointers and gitexp.yaml: git add -A && git commit")
