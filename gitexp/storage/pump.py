"""Many requests at once on a filesystem's own event loop, for the bulk calls.

`gitexp.storage.fs` runs `get_many` and `put_many` through a `Pump`: up to ``jobs``
coroutines on fsspec's loop, outcomes handed to the calling thread on a queue,
instead of one blocking call per object from a pool of threads.
"""

from __future__ import annotations

import asyncio
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def one_request_options(fs: Any) -> dict[str, int]:
    """Options that make ``fs`` read a small object in one request.

    Left to itself, s3fs asks for an object's size (a request of its own) before
    reading it, to decide whether to read it in parallel parts; gcsfs likewise.
    """
    method = getattr(fs, "_cat_file", None)
    if method is None:
        return {}
    try:
        names = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return {}
    for name in ("max_concurrency", "concurrency"):
        if name in names:
            return {name: 1}
    return {}


class Pump(Generic[T, R]):
    """Runs ``work`` on items on an event loop, ``jobs`` at a time; outcomes on a queue.

    ``results`` gets ``(key, value, None)`` or ``(key, None, error)`` per item and a
    final None, however the run ends, once it has started. At most `BACKLOG` times
    ``jobs`` outcomes wait there: a reader slower than the network holds the
    requests back instead of letting downloads pile up in memory.
    """

    BACKLOG = 4

    def __init__(
        self,
        items: Iterable[tuple[str, T]],
        work: Callable[[str, T], Awaitable[R]],
        jobs: int,
        timeout: float,
    ) -> None:
        self.items = iter(items)
        self.work = work
        self.jobs = jobs
        self.timeout = timeout
        self.results: queue.SimpleQueue[tuple[str, object, Exception | None] | None]
        self.results = queue.SimpleQueue()
        self.stop = threading.Event()
        self.started = threading.Event()
        self.running: set[asyncio.Task[None]] = set()
        self.task: asyncio.Task[Any] | None = None
        self.room: asyncio.Semaphore | None = None
        self._taken = 0

    async def run(self) -> None:
        """Start an item each time a slot frees up, until none is left or it is halted."""
        self.started.set()
        self.task = asyncio.current_task()
        try:
            slots = asyncio.Semaphore(self.jobs)
            self.room = asyncio.Semaphore(self.BACKLOG * self.jobs)
            while not self.stop.is_set():
                await self.room.acquire()
                await slots.acquire()
                if self.stop.is_set():
                    break
                item = next(self.items, None)
                if item is None:
                    break
                task = asyncio.ensure_future(self._one(item[0], item[1], slots))
                self.running.add(task)
                task.add_done_callback(self.running.discard)
            while self.running:
                await asyncio.wait(set(self.running))
        finally:
            for task in list(self.running):
                task.cancel()
            self.results.put(None)

    async def _one(self, key: str, payload: T, slots: asyncio.Semaphore) -> None:
        try:
            value = await asyncio.wait_for(self.work(key, payload), self.timeout)
        except Exception as exc:
            self.results.put((key, None, exc))
        else:
            self.results.put((key, value, None))
        finally:
            slots.release()

    def taken(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the reading thread: one outcome was read; make room for more, a few at a time."""
        self._taken += 1
        if self._taken >= self.jobs:
            loop.call_soon_threadsafe(self._make_room, self._taken)
            self._taken = 0

    def _make_room(self, count: int) -> None:
        if self.room is not None:
            for _ in range(count):
                self.room.release()

    def halt(self, loop: asyncio.AbstractEventLoop) -> None:
        """From another thread: stop taking items, cancel those in flight, wait for the end.

        Once this returns, no item is taken from ``items`` any more.
        """
        self.stop.set()
        loop.call_soon_threadsafe(self._cancel)
        if self.started.is_set():
            while self.results.get() is not None:
                pass

    def _cancel(self) -> None:
        for task in list(self.running):
            task.cancel()
        if self.task is not None:
            self.task.cancel()
