"""Progress on a terminal: transfers (objects, bytes, speed), files counted; nothing when piped."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gitexp.api import Progress


@contextmanager
def transfer_bar() -> Iterator[Callable[[str, Progress], None] | None]:
    """A progress callback drawing on stderr when it is a terminal, else None."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TransferSpeedColumn,
    )
    from rich.progress import (
        Progress as Bar,
    )

    bar = Bar(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, Any] = {}
    lock = threading.Lock()

    def report(phase: str, where: Progress) -> None:
        with lock:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=None)
            by_bytes = where.bytes_total > 0
            bar.update(
                tasks[phase],
                completed=where.bytes_done if by_bytes else where.done,
                total=where.bytes_total if by_bytes else where.total,
                description=f"{phase} {where.done}/{where.total} objects",
            )

    with bar:
        yield report


@contextmanager
def file_counter(verb: str) -> Iterator[Callable[[str, str], None] | None]:
    """A callback (data path, file) counting files on stderr when it is a terminal, else None.

    It may be called from several threads at once.
    """
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress as Bar
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Bar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task(verb, total=None)
    lock = threading.Lock()
    count = 0

    def seen(path: str, _inner: str) -> None:
        nonlocal count
        with lock:
            count += 1
            bar.update(task, description=f"{verb} {path}: {count:,} files")

    with bar:
        yield seen
