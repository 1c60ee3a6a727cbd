"""What a worker tells its driver while a run goes on: that it started, and what it logged.

The run's command logs into its journal in the worker's repository (metrics so far,
one file per series). While it runs, a thread looks at those files every `POLL`
seconds and sends what changed as a Dask event on the driver's topic: all the
metrics when they changed, and the whole lines added to each series since the last
look (a line being written waits for its end). The driver keeps them in its
`clusterjournal`, where ``show`` and the UI read them, within about a second of
the logging. Nothing is sent while nothing changes.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import orjson

from gitexp.experiments.run import journal

POLL = 0.5
"""Seconds between two looks at the run's journal."""
SERIES = "series"
_TOKEN_LENGTH = 8
"""A run's journal folder is ``<name>-<8 hex>`` (`runner.new_run_dir`)."""

Tell = Callable[[dict[str, object]], None]


class Reporter:
    """Reports run ``name``, journaled under ``runs``, for the block; `POLL` seconds apart."""

    def __init__(self, tell: Tell, runs: Path, name: str) -> None:
        self.tell, self.runs, self.name = tell, runs, name
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=f"gitexp-report-{name}", daemon=True)
        self.folder: Path | None = None
        self.metrics_seen: tuple[int, int] | None = None
        self.offsets: dict[str, int] = {}

    def __enter__(self) -> Reporter:
        self.tell({"name": self.name, "host": socket.gethostname()})
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop.set()  # not waited for: a word that comes after the record is ignored

    def _loop(self) -> None:
        while not self.stop.wait(POLL):
            message = self.changes()
            if message is not None:
                self.tell(message)

    def changes(self) -> dict[str, object] | None:
        """What changed since the last look, as the message to send; None if nothing did."""
        folder = self.folder or self._find()
        if folder is None:
            return None
        metrics = self._metrics(folder)
        series = self._series(folder / SERIES)
        if metrics is None and not series:
            return None
        return {"name": self.name, "metrics": metrics, "series": series}

    def _find(self) -> Path | None:
        """The run's journal folder, once the run has made it."""
        prefix = self.name + "-"
        with contextlib.suppress(FileNotFoundError), os.scandir(self.runs) as entries:
            for entry in entries:
                token = entry.name[len(prefix) :]
                if entry.name.startswith(prefix) and len(token) == _TOKEN_LENGTH:
                    self.folder = Path(entry.path)
        return self.folder

    def _metrics(self, folder: Path) -> dict[str, object] | None:
        path = folder / journal.METRICS
        try:
            info = path.stat()
            seen = (info.st_mtime_ns, info.st_size)
            if seen == self.metrics_seen:
                return None
            values = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        self.metrics_seen = seen
        return values if isinstance(values, dict) else None

    def _series(self, root: Path) -> dict[str, bytes]:
        """The whole lines added to each series file since the last look, by relative path."""
        added: dict[str, bytes] = {}
        for top, _dirs, files in os.walk(root):
            for file in files:
                path = Path(top) / file
                key = path.relative_to(root).as_posix()
                offset = self.offsets.get(key, 0)
                with contextlib.suppress(OSError), open(path, "rb") as handle:
                    handle.seek(offset)
                    data = handle.read()
                    whole = data[: data.rfind(b"\n") + 1]
                    if whole:
                        added[key] = whole
                        self.offsets[key] = offset + len(whole)
        return added
