"""Live lines on a terminal while several runs go on: one per running run, and a count.

A sweep, a ``-j`` grid and ``queue start`` draw, on stderr when it is a terminal,
one line per running run (name, overrides in short, time so far, latest goal
value) and a count of done, failed, pruned and running runs, redrawn in place.
Messages said meanwhile print above the lines. Piped (a file, CI), nothing changes:
the plain lines per start and end stay as they are. What the lines hold comes from
the API (`Repo.live_board`); this module only draws it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from gitexp.api import Board, Repo, RunResult

REFRESH_S = 0.25


@contextmanager
def live_runs(
    repo: Repo,
    on_result: Callable[[RunResult], None],
    goal: str | None = None,
    shown: bool = True,
) -> Iterator[Callable[[RunResult], None]]:
    """The ``on_result`` to hand the API: it counts each run, then calls ``on_result``.

    On a terminal, and when ``shown``, the lines are drawn until the block ends;
    otherwise nothing is, and ``on_result`` itself is handed back.
    """
    if not shown or not _terminal():
        yield on_result
        return
    board = repo.live_board(goal)

    def ended(result: RunResult) -> None:
        board.ended_run(result)
        on_result(result)

    from rich.console import Console
    from rich.live import Live

    console = Console(stderr=True)
    done = threading.Event()
    with Live(
        _render(board),
        console=console,
        transient=True,
        auto_refresh=False,
        redirect_stdout=False,  # stdout carries data; messages on stderr print above the lines
        redirect_stderr=True,
    ) as live:
        drawer = threading.Thread(target=_draw, args=(live, board, done), daemon=True)
        drawer.start()
        try:
            yield ended
        finally:
            done.set()
            drawer.join()


def _terminal() -> bool:
    return sys.stderr.isatty() and os.environ.get("TERM") != "dumb"


def _draw(live: object, board: Board, done: threading.Event) -> None:
    from rich.live import Live

    assert isinstance(live, Live)  # noqa: S101 - the Live made by `live_runs`
    while not done.wait(REFRESH_S):
        live.update(_render(board), refresh=True)


def _render(board: Board) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    lines = board.lines()
    counts = board.counts(len(lines))
    table = Table.grid(padding=(0, 2))
    for line in lines:
        value = "" if line.value is None else f"{line.goal}={line.value:.4g}"
        table.add_row(
            Text(line.name, style="bold"),
            Text(line.overrides, overflow="ellipsis", no_wrap=True),
            Text(_clock(line.elapsed_s), style="cyan"),
            Text(value, style="green"),
        )
    count = Text(
        f"{counts.done} done, {counts.failed} failed, {counts.pruned} pruned, "
        f"{counts.running} running",
        style="dim",
    )
    return Group(table, count)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
