"""``gitexp run``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from gitexp.cli.console import out, say, warn
from gitexp.cli.liveruns import live_runs

if TYPE_CHECKING:
    from gitexp.api import RunResult
    from gitexp.core.search import SweepOptions


def configure(parser: argparse.ArgumentParser) -> None:
    parser.usage = (
        "gitexp run [-n NAME] [-S KEY=VALUE]... [-j N] [-m MESSAGE] [--force] [--queue]\n"
        "                  [--executor local|dask|dask://HOST:PORT] [--git-remote NAME]\n"
        "                  [--trials N] [--sampler tpe|random] [--goal KEY:max|min] [--seed N]\n"
        "                  [--prune median|hyperband] [--resume] [-- COMMAND...]"
    )
    parser.add_argument(
        "-n",
        "--name",
        type=_experiment_name,
        help="the experiment's name (a sweep's points are NAME-1, NAME-2, ...)",
    )
    parser.add_argument(
        "-S",
        "--set",
        dest="overrides",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="override a param for this run: KEY, FILE:KEY, +KEY (add); "
        "several comma-separated values make a grid; a space such as "
        "'lr=loguniform(1e-4,1e-1)' (choice, range, uniform, loguniform, int, intlog) "
        "makes a search",
    )
    parser.add_argument("-m", "--message", help="a message kept with the experiment")
    parser.add_argument(
        "-j",
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="run a grid's points in isolated worktrees, N at a time (the workspace is untouched)",
    )
    parser.add_argument(
        "-f", "--force", action="store_true", help="replace an experiment of the same name"
    )
    parser.add_argument(
        "--executor",
        metavar="E",
        help="where a grid's points or a search's trials run: local (worktrees with -j), "
        "dask (a Dask cluster on this machine, -j workers) or dask://HOST:PORT "
        "(an existing Dask scheduler; workers use origin and the storage remote; a search "
        "runs a trial per worker thread at a time); pip install 'gitexp[dask]'",
    )
    parser.add_argument(
        "--git-remote",
        metavar="NAME",
        help="with --executor dask://HOST:PORT: the git remote its workers get the runs from "
        "and record them on (default: origin, as for push)",
    )
    parser.add_argument(
        "--queue",
        action="store_true",
        help="queue each point as a commit under refs/exps-queue/ and return "
        "(run them with `gitexp queue start`)",
    )
    _search_arguments(parser)
    parser.add_argument(
        "command_words",
        nargs=argparse.REMAINDER,
        metavar="COMMAND",
        help="what to run (default: 'command' in gitexp.yaml)",
    )
    parser.set_defaults(func=main)


def _search_arguments(parser: argparse.ArgumentParser) -> None:
    search = parser.add_argument_group("searches (a space in -S, or a comma list)")
    search.add_argument(
        "--trials", type=int, metavar="N", help="how many trials a search runs (each an experiment)"
    )
    search.add_argument(
        "--sampler", choices=("tpe", "random"), help="how trials are drawn (default: tpe)"
    )
    search.add_argument(
        "--goal",
        metavar="KEY:max|min",
        help="the metric a search optimizes (default: the first key of goals: in gitexp.yaml)",
    )
    search.add_argument("--seed", type=int, metavar="N", help="seed the sampler (repeatable)")
    search.add_argument(
        "--prune",
        choices=("median", "hyperband"),
        help="stop trials early whose goal, logged by step, lags the others",
    )
    search.add_argument(
        "--resume",
        action="store_true",
        help="continue the search named by -n from its trials' refs, up to --trials",
    )


def _experiment_name(text: str) -> str:
    """``-n``'s type: a name git cannot take is a usage error (exit 2), with what to use."""
    from gitexp.core.names import check_name
    from gitexp.errors import InvalidNameError

    try:
        return check_name(text)
    except InvalidNameError as exc:
        raise argparse.ArgumentTypeError(f"{exc.message}: {exc.hint}") from None


def main(args: argparse.Namespace) -> int:
    """Run; SIGINT and SIGTERM only ask the run to stop, so what it records is the outcome.

    A signal that comes once every run is recorded changes nothing: the exit code
    is the one the records say.
    """
    from gitexp.api import Repo
    from gitexp.cli.signals import deferred
    from gitexp.core.params import parse_override
    from gitexp.core.search import SweepOptions
    from gitexp.errors import UsageError

    if args.name is not None and not isinstance(args.name, str):  # argparse ate `--name=--`
        raise UsageError("-n/--name needs a name, and '--' is not one; see `gitexp run --help`")

    words = list(args.command_words)
    if words and words[0] == "--":
        words = words[1:]
    options = SweepOptions(
        trials=args.trials,
        sampler=args.sampler,
        goal=args.goal,
        seed=args.seed,
        prune=args.prune,
        resume=args.resume,
    )
    if args.git_remote is not None and not (args.executor or "").startswith("dask://"):
        raise UsageError(
            "--git-remote names the git remote of a Dask cluster's workers; without "
            "--executor dask://HOST:PORT nothing uses it",
            hint="drop --git-remote, or add --executor dask://HOST:PORT",
        )
    if args.queue:
        return _enqueue(args, words, options)
    if args.executor not in (None, "local"):
        return _on_executor(args, words, options)
    if options.searching(args.overrides):
        return _search(args, words, options)
    if args.goal is not None:
        raise UsageError("--goal is for searches", hint="add --trials N and a space in -S")
    repo = Repo(".")
    with deferred() as stop, live_runs(repo, report_result, shown=args.jobs > 1) as on_result:
        results = repo.run(
            words or None,
            overrides=[parse_override(spec) for spec in args.overrides],
            name=args.name,
            message=args.message,
            force=args.force,
            cwd=".",
            jobs=args.jobs,
            on_output=_echo,
            notify=say,
            on_result=on_result,
            stop=stop,
        )
        if stop.is_set():
            say("note: the interrupt came after every run was recorded; nothing was lost")
        return _summary(results)


def _enqueue(args: argparse.Namespace, words: list[str], options: SweepOptions) -> int:
    from gitexp.api import Repo
    from gitexp.errors import UsageError

    if options.searching(args.overrides) or args.goal is not None:
        raise UsageError(
            "--queue takes grids and single runs, not searches",
            hint="a search picks each trial from the ones before it; run it with --trials",
        )
    queued = Repo(".").enqueue(words or None, overrides=args.overrides, name=args.name)
    for run in queued:
        say(f"queued '{run.name}' ({run.commit[:8]})")
        if not sys.stdout.isatty():
            out(run.name)
    say("run them with `gitexp queue start`")
    return 0


def _on_executor(args: argparse.Namespace, words: list[str], options: SweepOptions) -> int:
    """On another executor: a grid's points queued, then run there; a search's trials as tasks."""
    from gitexp.api import Repo
    from gitexp.cli.signals import deferred

    if options.searching(args.overrides):
        return _search(args, words, options)
    repo = Repo(".")
    queued = repo.enqueue(words or None, overrides=args.overrides, name=args.name)
    with deferred() as stop, live_runs(repo, report_result) as on_result:
        results = repo.queue_start(
            args.jobs,
            executor=args.executor,
            names=[run.name for run in queued],
            notify=say,
            on_result=on_result,
            stop=stop,
            git_remote=args.git_remote,
        )
    return _summary(results)


def _search(args: argparse.Namespace, words: list[str], options: SweepOptions) -> int:
    from gitexp.api import Repo
    from gitexp.cli.signals import deferred

    repo = Repo(".")
    shown = args.jobs > 1 or args.executor not in (None, "local")  # else output streams
    with deferred() as stop, live_runs(repo, report_result, args.goal, shown) as on_result:
        results = repo.sweep(
            words or None,
            overrides=args.overrides,
            name=args.name,
            options=options,
            jobs=args.jobs,
            message=args.message,
            force=args.force,
            cwd=".",
            executor=args.executor or "local",
            on_output=_echo,
            notify=say,
            on_result=on_result,
            stop=stop,
            git_remote=args.git_remote,
        )
        if results:
            counts = {s: sum(r.status == s for r in results) for s in ("success", "pruned")}
            other = len(results) - counts["success"] - counts["pruned"]
            say(
                f"{len(results)} trial(s): {counts['success']} done, {other} failed, "
                f"{counts['pruned']} pruned"
            )
        return _summary(results)


def _summary(results: list[RunResult]) -> int:
    failed = sum(result.status not in ("success", "pruned") for result in results)
    if failed:
        say(
            f"{failed} of {len(results)} run(s) failed; see the output with "
            "`git show refs/experiments/NAME:.gitexp/output.log`"
        )
        return 1
    return 0


def report_result(result: RunResult) -> None:
    """Say how a run ended, on stderr; its name on stdout when piped."""
    for note in result.notes:
        say(f"note: {note}")
    for problem in result.problems:
        warn(problem)
    mark = "recorded" if result.status == "success" else f"recorded {result.status.upper()}"
    code = "" if result.exit_code in (0, None) else f", exit code {result.exit_code}"
    say(f"{mark} experiment '{result.name}' ({result.commit[:8]}, {result.duration_s:.1f}s{code})")
    if not sys.stdout.isatty():
        out(result.name)


def _echo(chunk: bytes, is_err: bool) -> None:
    stream = sys.stderr if is_err else sys.stdout
    stream.flush()
    stream.buffer.write(chunk)
    stream.buffer.flush()
