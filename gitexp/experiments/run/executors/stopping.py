"""Stopping a Dask executor's tasks: the futures, and the commands they run on workers.

Cancelling a Dask future does not stop a task that runs already (a thread cannot
be killed), so every gitexp task registers a stop event here, in its worker
process, under a key unique to its driver. On Ctrl-C or SIGTERM the driver runs
`stop_tasks` on every worker: the events of running tasks are set (their commands'
process groups get signalled and their runs are recorded ``interrupted``), and a
task of those keys that starts later runs nothing. The driver cancels the rest
and waits for the stopped ones to be recorded (`stop_all`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType
from typing import Any

STOP_WAIT = 60.0
"""Seconds a stopped driver waits for the runs going on to be recorded ``interrupted``."""

_LOCK = threading.Lock()
_RUNNING: dict[str, threading.Event] = {}
_STOPPED: set[str] = set()


@contextlib.contextmanager
def registered(key: str) -> Iterator[threading.Event | None]:
    """The stop event of task ``key`` for the block; None when its driver stopped it already."""
    with _LOCK:
        if key in _STOPPED:
            event = None
        else:
            event = _RUNNING[key] = threading.Event()
    try:
        yield event
    finally:
        if event is not None:
            with _LOCK:
                _RUNNING.pop(key, None)


def stop_tasks(keys: Sequence[str]) -> list[str]:
    """Stop the tasks of ``keys`` in this worker process; the keys of those running now.

    Meant for ``client.run``, which calls it on every worker at once.
    """
    with _LOCK:
        _STOPPED.update(keys)
        running = [key for key in keys if key in _RUNNING]
        for key in running:
            _RUNNING[key].set()
    return running


def stop_all(
    distributed: ModuleType, client: Any, pending: Mapping[Any, str], key_of: Mapping[str, str]
) -> list[Any]:
    """Stop every pending task (``future → name``); the futures of those that ran, finished.

    ``key_of`` maps a name to its task's key. Tasks not started are cancelled; the
    running ones are waited for (at most `STOP_WAIT` seconds) while they record.
    """
    keys = [key_of[name] for name in pending.values()]
    answers = client.run(stop_tasks, keys, on_error="ignore")  # a dead worker runs nothing
    running = {key for on_worker in answers.values() for key in on_worker or ()}
    waiting = [future for future, name in pending.items() if key_of[name] in running]
    client.cancel([future for future, name in pending.items() if key_of[name] not in running])
    with contextlib.suppress(TimeoutError):
        distributed.wait(waiting, timeout=STOP_WAIT)
    return [future for future in waiting if future.status == "finished"]
