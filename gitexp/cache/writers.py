"""Storing many small objects on background threads while the caller reads the next files.

Creating files is what `add` of many small files costs; reading them is cheap. So the
reader hands each file's bytes to `SmallWriters` and goes on reading while up to
``jobs`` threads write. Each thread owns a share of the bucket folders (no two threads
create files in one folder) and writes its share in the order it was handed over;
at most ``limit`` bytes wait in memory.
"""

from __future__ import annotations

import threading
from collections import deque
from types import TracebackType

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid, hash_bytes

TAKE = 256
"""Objects a thread takes from its queue at a time (it checks for a stop between)."""


class SmallWriters:
    """``with SmallWriters(store, jobs, limit) as writers: oid = writers.put(data)``.

    Leaving the block waits for every write; the first error of a thread is raised
    there (or by the next `put`). Leaving it on an exception stops the threads
    after the object each is writing: what they wrote is whole, the rest is not
    stored.
    """

    def __init__(self, store: ObjectStore, jobs: int, limit: int) -> None:
        self.store = store
        self.limit = limit
        self._queues: list[deque[tuple[Oid, bytes]]] = [deque() for _ in range(max(1, jobs))]
        self._ready = threading.Condition()
        self._held = 0
        self._closed = False
        self._error: BaseException | None = None
        self._threads = [
            threading.Thread(target=self._run, args=(q,), name="gitexp-writer", daemon=True)
            for q in self._queues
        ]

    def __enter__(self) -> SmallWriters:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        with self._ready:
            self._closed = True
            if error is not None and self._error is None:
                self._error = error
            self._ready.notify_all()
        for thread in self._threads:
            thread.join()
        if error is None and self._error is not None:
            raise self._error

    def put(self, data: bytes) -> Oid:
        """Hand ``data`` over to be stored; its oid (the object may not be written yet)."""
        oid = hash_bytes(data)
        queue = self._queues[int(oid.hex[:2], 16) % len(self._queues)]
        with self._ready:
            while self._held >= self.limit and self._error is None:
                self._ready.wait()
            if self._error is not None:
                raise self._error
            queue.append((oid, data))
            self._held += len(data)
            self._ready.notify_all()
        return oid

    def _run(self, queue: deque[tuple[Oid, bytes]]) -> None:
        while True:
            with self._ready:
                while not queue and not self._closed and self._error is None:
                    self._ready.wait()
                if self._error is not None or not queue:
                    return
                batch = [queue.popleft() for _ in range(min(TAKE, len(queue)))]
            try:
                self.store.write_small(batch)
            except BaseException as exc:
                with self._ready:
                    if self._error is None:
                        self._error = exc
                    self._ready.notify_all()
                return
            with self._ready:
                self._held -= sum(len(data) for _oid, data in batch)
                self._ready.notify_all()
