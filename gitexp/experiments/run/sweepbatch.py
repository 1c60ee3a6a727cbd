"""A cluster search's trials gathered into batches: one claim, push and fetch for several.

Each trial on a cluster costs the driver a few git round trips whatever their
number: claiming the queued runs, pushing them to the git remote, fetching what
the workers recorded, dropping the claims. The search's driver threads ask for
trials together (at its start, and whenever a batch of results is recorded at
once), so the trials asked for within `GATHER_S` of the first one go to the
cluster as one batch (`Batches.run`), in a thread of their own; a batch waits
no longer once it has a trial for every slot. (Waiting only for the slots free
now would be quicker once, but makes the batches smaller for good: trials that
ended apart start apart, and end apart again.) Each trial's
result is handed back as soon as it is recorded, not when its whole batch is: a
thread whose trial ended asks for the next one while the others still run, and
that one starts the next batch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gitexp.experiments.run.record import RunResult

GATHER_S = 0.1
"""How long the first trial of a batch waits for others asked for at about the same time."""

RunBatch = Callable[[Sequence[str], Callable[[RunResult], None]], None]
"""Runs the queued trials of the names given, handing each result over as it is recorded."""


@dataclass
class _Waiting:
    name: str
    done: threading.Event = field(default_factory=threading.Event)
    result: RunResult | None = None
    error: BaseException | None = None


class Batches:
    """Gathers the trials asked for together and runs each batch with ``run_batch``."""

    def __init__(self, run_batch: RunBatch, stop: threading.Event, slots: int) -> None:
        self.run_batch, self.stop, self.slots = run_batch, stop, slots
        self.lock = threading.Condition()
        self.gathering: list[_Waiting] | None = None
        self.threads: list[threading.Thread] = []

    def run(self, name: str) -> RunResult | None:
        """Run queued trial ``name`` in the next batch; its result, None when it did not run.

        Raises what running its batch raised.
        """
        waiting = _Waiting(name)
        with self.lock:
            lead = self.gathering is None
            if self.gathering is None:
                self.gathering = []
            self.gathering.append(waiting)
            self.lock.notify_all()
            if lead:
                self.lock.wait_for(self._full, timeout=GATHER_S)
                batch, self.gathering = self.gathering, None
                thread = threading.Thread(target=self._run, args=(batch,), name=f"batch-{name}")
                self.threads.append(thread)
                thread.start()
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        return waiting.result

    def _full(self) -> bool:
        """The batch gathering has a trial for every slot (or the search stops)."""
        return self.stop.is_set() or len(self.gathering or ()) >= self.slots

    def _run(self, batch: list[_Waiting]) -> None:
        by_name = {waiting.name: waiting for waiting in batch}

        def recorded(result: RunResult) -> None:
            waiting = by_name.get(result.name)
            if waiting is not None and not waiting.done.is_set():
                waiting.result = result
                waiting.done.set()

        error: BaseException | None = None
        try:
            self.run_batch(list(by_name), recorded)
        except BaseException as exc:  # handed to each trial's own thread, raised there
            error = exc
        finally:
            for waiting in batch:
                if not waiting.done.is_set():
                    waiting.error = error
                    waiting.done.set()

    def close(self) -> None:
        """Wait for the batches still letting go of the cluster (all their trials are done)."""
        with self.lock:
            threads, self.threads = self.threads, []
        for thread in threads:
            thread.join()
