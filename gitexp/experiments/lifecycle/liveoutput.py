"""The output of a run done on a Dask cluster, shown as it comes, then completed from its record.

A run writes its output log into its journal folder as it goes (flushed at each
chunk: `process.run_command`), wherever it runs. `Tail` reads what was added since
the last look. On a ``dask://`` cluster the run's worker does the reading
(`relayed_task`, beside `worker.run_task`) and sends each chunk to the driver as a
Dask event on a topic of the driver's own; on a ``dask`` cluster of this machine
the driver reads the journal itself (`tailing`). On the driver, `Shown` passes each
chunk on once and in order, and once the run is recorded (`Shown.finish`) whatever
the recorded output log holds beyond what was shown: the last chunks may come
after the run ended, or never (a worker's event lost), and the user still sees the
whole output. A task that Dask runs again (its worker died) starts its output
anew; the user is told so.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from gitexp.core.config import ProjectConfig
from gitexp.experiments.run import journal
from gitexp.experiments.run.executors.worker import Outcome, Task, run_task, task_repository
from gitexp.experiments.run.process import OutputSink
from gitexp.experiments.run.runner import Notify
from gitexp.project import Project

POLL = 0.1
"""Seconds between two looks at a run's output log."""
CHUNK = 1 << 20
"""The most one look reads (and one event carries) of the output log."""

Send = Callable[[dict[str, object]], None]


class Tail:
    """What run ``name``, journaled under ``runs``, added to its output log since the last look.

    Only a run folder made after the tail began counts: one left by an earlier
    attempt (a killed worker's) is not this run's.
    """

    def __init__(self, runs: Path, name: str) -> None:
        self.runs, self.name = runs, name
        self.before = set(self._folders())
        self.folder: Path | None = None
        self.offset = 0

    def _folders(self) -> list[Path]:
        with contextlib.suppress(OSError):
            return list(self.runs.glob(f"{self.name}-*"))
        return []

    def _find(self) -> Path | None:
        for folder in self._folders():
            if folder in self.before:
                continue
            with contextlib.suppress(OSError, orjson.JSONDecodeError):
                context = orjson.loads((folder / "context.json").read_bytes())
                if context.get("name") == self.name:
                    return folder
        return None

    def read(self) -> dict[str, object] | None:
        """The next chunk as ``{"name", "attempt", "offset", "output"}``; None when nothing new."""
        self.folder = self.folder or self._find()
        if self.folder is None:
            return None
        try:
            with open(self.folder / journal.OUTPUT, "rb") as log:
                log.seek(self.offset)
                chunk = log.read(CHUNK)
        except OSError:  # not made yet, or the run ended and its folder went
            return None
        if not chunk:
            return None
        message = {
            "name": self.name,
            "attempt": self.folder.name,
            "offset": self.offset,
            "output": chunk,
        }
        self.offset += len(chunk)
        return message


@contextlib.contextmanager
def tailing(tail: Tail, send: Send) -> Iterator[None]:
    """Send each chunk ``tail`` reads, `POLL` seconds apart, for the block (and a last look)."""
    done = threading.Event()

    def loop() -> None:
        while True:
            stopping = done.wait(POLL)
            while (message := tail.read()) is not None:
                send(message)
            if stopping:
                return

    thread = threading.Thread(target=loop, name=f"gitexp-output-{tail.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def relayed_task(task: Task, topic: str) -> Outcome:
    """What a worker runs for a run whose output its driver shows: `run_task`, output relayed.

    Each chunk goes as a Dask event on ``topic``; the driver subscribes to it.
    """
    from distributed import get_worker

    worker = get_worker()
    runs = Project(task_repository(task), ProjectConfig()).layout.runs

    def send(message: dict[str, object]) -> None:
        with contextlib.suppress(Exception):  # a lost event is made up for from the record
            worker.log_event(topic, message)

    with tailing(Tail(runs, task.name), send):
        return run_task(task)


class Shown:
    """The driver's side: each chunk of the run's output passed on once, in order."""

    def __init__(self, sink: OutputSink, say: Notify) -> None:
        self.sink, self.say = sink, say
        self.lock = threading.Lock()
        self.attempt: str | None = None
        self.seen = bytearray()
        self.closed = False

    def take(self, message: object) -> None:
        """Pass on a chunk from `Tail.read` (a Dask event's payload); others are ignored."""
        if not isinstance(message, dict):
            return
        attempt, offset, chunk = (message.get(k) for k in ("attempt", "offset", "output"))
        if not (isinstance(attempt, str) and isinstance(offset, int) and isinstance(chunk, bytes)):
            return
        with self.lock:
            if self.closed:
                return
            if attempt != self.attempt:
                if self.attempt is not None:
                    self.say("the run started again on another worker; its output from the start:")
                self.attempt, self.seen = attempt, bytearray()
            if offset != len(self.seen):  # a chunk out of order: the record makes up for it
                return
            self.seen += chunk
            self._pass(chunk)

    def finish(self, recorded: bytes | None) -> None:
        """The run is recorded: pass on what its output log holds beyond what was shown."""
        with self.lock:
            self.closed = True
            if recorded and recorded.startswith(self.seen):
                self._pass(recorded[len(self.seen) :])

    def _pass(self, chunk: bytes) -> None:
        if chunk:
            with contextlib.suppress(OSError, ValueError):
                self.sink(chunk, False)


@contextlib.contextmanager
def subscribed(client: Any, topic: str, shown: Shown) -> Iterator[None]:
    """Hand ``topic``'s Dask events to ``shown`` for the block."""
    client.subscribe_topic(topic, lambda event: shown.take(event[1]))
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # a scheduler gone has nothing to unsubscribe
            client.unsubscribe_topic(topic)
