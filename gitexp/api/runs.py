"""Running: experiments, searches, the queue, and runs done again.

One part of `gitexp.Repo`; each method is one call into the module that does it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.api.base import Calls

if TYPE_CHECKING:
    import threading

    from gitexp.core.params import Override
    from gitexp.core.search import SweepOptions
    from gitexp.experiments.lifecycle.bisect import BisectResult
    from gitexp.experiments.lifecycle.reproduce import ReproduceResult
    from gitexp.experiments.run.process import OutputSink
    from gitexp.experiments.run.progress import Board
    from gitexp.experiments.run.queue import QueuedRun
    from gitexp.experiments.run.record import RunResult
    from gitexp.experiments.run.runner import Notify


class RunCalls(Calls):
    """`Repo`'s calls for this part (see the module)."""

    def run(
        self,
        command: Sequence[str] | str | None = None,
        *,
        overrides: Sequence[str | Override] = (),
        name: str | None = None,
        message: str | None = None,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        jobs: int = 1,
        on_output: OutputSink | None = None,
        notify: Notify | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
    ) -> list[RunResult]:
        """Run the command once per grid point, each an experiment (`gitexp run`).

        ``stop`` set ends the run as Ctrl-C does (recorded ``interrupted``, `Interrupted`).

        >>> repo.run(["python", "train.py"], overrides=["lr=0.1,0.01"])  # doctest: +SKIP
        """
        from gitexp.experiments.run import request

        asked = request.RunRequest(command, overrides, name, message, force, cwd, jobs)
        return request.run(
            self.project, asked, on_output=on_output, notify=notify, on_result=on_result,
            env=env, stop=stop,
        )  # fmt: skip

    def sweep(
        self,
        command: Sequence[str] | None = None,
        *,
        overrides: Sequence[str] = (),
        name: str | None = None,
        options: SweepOptions | None = None,
        jobs: int = 1,
        message: str | None = None,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        executor: str = "local",
        on_output: OutputSink | None = None,
        notify: Notify | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        stop: threading.Event | None = None,
        git_remote: str | None = None,
    ) -> list[RunResult]:
        """Search the space of ``overrides`` (``lr=loguniform(1e-4,1e-1)``), one experiment a trial.

        ``executor="dask"`` runs the trials on a local Dask cluster of ``jobs`` workers;
        ``"dask://HOST:PORT"`` on an existing one, whose workers use ``git_remote``
        (default: origin).

        >>> repo.sweep(overrides=["lr=loguniform(1e-4,1e-1)"],
        ...            options=SweepOptions(trials=20, goal="acc:max"))  # doctest: +SKIP
        """
        from gitexp.core.search import SweepOptions
        from gitexp.experiments.run.sweep import Callbacks, SweepRequest, run_sweep

        where = Path(cwd).resolve() if cwd is not None else None
        request = SweepRequest(
            command, overrides, name, options or SweepOptions(), jobs, message, force, where,
            executor, git_remote,
        )  # fmt: skip
        callbacks = Callbacks(on_output, notify, on_result)
        return run_sweep(self.project, request, callbacks, stop=stop)

    def live_board(self, goal: str | None = None) -> Board:
        """The runs this process started that go on now, and counts of those ended.

        For a live display: hand `Board.ended_run` every result, read `Board.lines`.
        """
        from gitexp.experiments.run.progress import Board

        return Board(self.project, goal)

    def enqueue(
        self,
        command: Sequence[str] | None = None,
        *,
        overrides: Sequence[str] = (),
        name: str | None = None,
    ) -> list[QueuedRun]:
        """Queue each grid point as a commit under ``refs/exps-queue/``; nothing runs."""
        from gitexp.experiments.run.queue import enqueue

        return enqueue(self.project, command, overrides, name)

    def queue_list(self) -> list[QueuedRun]:
        """The queued runs, then those a ``queue start`` is running, oldest first."""
        from gitexp.experiments.run.queue import list_queue

        return list_queue(self.project)

    def queue_remove(self, names: Sequence[str], *, every: bool = False) -> list[str]:
        """Drop queued runs (every one with ``every``); the names dropped."""
        from gitexp.experiments.run.queue import remove_queued

        return remove_queued(self.project, names, every)

    def queue_start(
        self,
        jobs: int = 1,
        *,
        executor: str = "local",
        names: Sequence[str] | None = None,
        notify: Notify | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        stop: threading.Event | None = None,
        git_remote: str | None = None,
    ) -> list[RunResult]:
        """Run the queue (or ``names`` of it), ``jobs`` at a time on ``executor``; each once.

        ``git_remote``: the git remote a ``dask://`` cluster's workers use (default: origin).
        """
        from gitexp.experiments.run.executors import start

        return start(
            self.project, jobs, executor, names, notify=notify, on_result=on_result, stop=stop,
            git_remote=git_remote,
        )  # fmt: skip

    def reproduce(
        self,
        name: str,
        *,
        tolerance: str | float | None = None,
        new_name: str | None = None,
        executor: str | None = None,
        remote: str | None = None,
        credentials: Mapping[str, str] | None = None,
        notify: Notify | None = None,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
        on_output: OutputSink | None = None,
        git_remote: str | None = None,
    ) -> ReproduceResult:
        """Run experiment ``name`` again from its own commit and data, in a worktree.

        ``tolerance``: absolute per metric, or ``"X%"`` relative (default: exact).
        ``executor``: ``local`` (default), ``dask`` or ``dask://HOST:PORT`` (a cluster's
        worker runs it, through ``git_remote``, default origin; the experiment is
        fetched back). Its output reaches ``on_output`` as it comes, on every executor.

        >>> repo.reproduce("lr-3", tolerance="1%").reproduced  # doctest: +SKIP
        True
        """
        from gitexp.core.drift import parse_tolerance
        from gitexp.experiments.lifecycle import rerun
        from gitexp.experiments.lifecycle.reproduce import reproduce

        ctx = rerun.context(remote, credentials, notify, env, stop, on_output, executor, git_remote)
        return reproduce(self.project, name, parse_tolerance(tolerance), ctx, new_name)

    def bisect(
        self,
        good: str,
        bad: str,
        *,
        metric: str,
        threshold: float,
        goal: str | None = None,
        command: Sequence[str] = (),
        executor: str | None = None,
        remote: str | None = None,
        credentials: Mapping[str, str] | None = None,
        notify: Notify | None = None,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
        on_output: OutputSink | None = None,
        git_remote: str | None = None,
    ) -> BisectResult:
        """The first commit after ``good`` (up to ``bad``) whose ``metric`` crosses ``threshold``.

        Commits with a successful experiment without overrides are judged by it; the
        others are run in worktrees (``command``, else gitexp.yaml's) and recorded;
        with ``executor`` ``dask`` or ``dask://HOST:PORT``, on that cluster's workers.

        >>> repo.bisect("v1.0", "main", metric="acc", threshold=0.9).first_bad  # doctest: +SKIP
        """
        from gitexp.experiments.lifecycle import rerun
        from gitexp.experiments.lifecycle.bisect import Search, bisect

        search = Search(metric, float(threshold), rerun.check_goal(goal), tuple(command))
        ctx = rerun.context(remote, credentials, notify, env, stop, on_output, executor, git_remote)
        return bisect(self.project, good, bad, search, ctx)
