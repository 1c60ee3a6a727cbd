"""``gitexp`` (and ``git exp``): parse, call one API method, render, pick the exit code.

Only the chosen command's module is imported, and it imports the API lazily, so
``gitexp --help`` stays instant. Every `GitexpError` becomes a one-line message on
stderr and its exit code; with ``--json`` it becomes a JSON object on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gitexp import __version__

# (command, module under gitexp.cli.commands, one-line help)
COMMANDS: list[tuple[str, str, str]] = [
    ("init", "init", "set up gitexp in this repository (gitexp.yaml)"),
    ("run", "run", "run a command and record it as an experiment (a grid with several values)"),
    ("queue", "queue", "queued runs: list, start (run them), remove, clear"),
    ("show", "show", "the experiments as a table: params, metrics, status"),
    ("diff", "diff", "params, metrics, files and artifacts that differ between two experiments"),
    ("compare", "compare", "the experiments of two branches side by side: counts, best, spread"),
    ("plots", "plots", "draw experiments' step series: an HTML page, SVG or PNG"),
    ("report", "report", "write a self-contained HTML report of the experiments"),
    ("ui", "ui", "a local web app of the experiments, live while runs go on"),
    ("list", "listing", "the experiments' names, newest first"),
    ("tag", "tag", "add tags to an experiment, or remove them with -d (kept in git notes)"),
    ("note", "note", "show or set an experiment's note (kept in git notes)"),
    ("remove", "remove", "delete experiments"),
    ("apply", "apply", "make the workspace's files match an experiment"),
    ("branch", "branch", "create a git branch at an experiment's commit"),
    ("add", "add", "track files or folders by content (cache + PATH.gitexp pointer)"),
    (
        "status",
        "status",
        "whether tracked data is unchanged, modified, missing or not in the cache",
    ),
    ("checkout", "checkout", "make the workspace's data match its pointers"),
    ("gc", "gc", "remove cache objects that no ref or the workspace needs"),
    ("fsck", "fsck", "verify every cache object; move corrupt ones aside"),
    ("push", "push", "push experiments through git and their data to a storage remote"),
    ("pull", "pull", "fetch experiments through git and their data from a storage remote"),
    ("model", "model", "a model registry in git: register, alias, list and get model versions"),
    (
        "reproduce",
        "reproduce",
        "run an experiment again from its own commit and data; compare metrics and environment",
    ),
    (
        "bisect",
        "bisect",
        "find the first commit where a metric crosses a threshold, running only what is missing",
    ),
    ("remote", "remote", "manage storage remotes (add, list, remove, default, modify)"),
    ("hooks", "hooks", "install, uninstall or show the git hooks that keep data in step with git"),
    ("hook", "hook", "run one git hook (what the scripts in git's hooks folder call)"),
    ("import", "importing", "bring in a DVC project or MLflow runs (data, experiments, remotes)"),
]


class _Parser(argparse.ArgumentParser):
    """argparse that says what to do next on a usage error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def build_parser(
    selected: str | None = None, *, everything: bool = False
) -> argparse.ArgumentParser:
    """The parser; only ``selected`` (or, with ``everything``, every command) is configured.

    With a command selected, the others are not even added: git hooks start gitexp on
    every commit and checkout, and each sub-parser costs start-up time.
    """
    parser = _Parser(
        prog="gitexp",
        description="Git-native data and experiment versioning for machine learning.",
        epilog="Run `gitexp COMMAND --help` for a command's options. "
        "Exit codes: 0 done, 1 failed, 2 bad usage, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"gitexp {__version__}")
    parser.add_argument("-C", dest="directory", metavar="PATH", help="run as if started in PATH")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, module, text in COMMANDS:
        if selected is not None and name != selected and not everything:
            continue
        command = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        if everything or name == selected:
            importlib.import_module(f"gitexp.cli.commands.{module}").configure(command)
    return parser


def _selected(argv: Sequence[str]) -> str | None:
    names = {name for name, _m, _t in COMMANDS}
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "-C":
            skip = True
        elif word in names:
            return word
        elif not word.startswith("-"):
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 done, 1 failed, 2 usage, 130 interrupted)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_selected(args_list))
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version and usage errors: flushed as any output
        from gitexp.cli.console import finish

        return finish(int(exc.code or 0))
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    from gitexp.cli.console import run_command

    return run_command(args)


def entry() -> None:
    """The console script: SIGTERM is handled like Ctrl-C, so cleanup still happens.

    Once the command has returned, later signals are ignored: the exit code says how
    it ended, and a signal during shutdown must not turn that into a death by signal.
    """
    from gitexp.cli import signals

    signals.install()
    try:
        code = main()
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        code = 130
    signals.settle()
    sys.exit(code)
