"""One driver a sweep: a second driver of a search going on is refused at once.

A search's study lives in its driver's memory (ask and tell). A second
``gitexp run -n NAME --trials N`` of the same sweep while the first runs would ask
for trials the first does not know of, under the same numbers, and lose the race
to record each of them. So a driver, new or resumed, holds a lock file for its
sweep's name while it runs (`held`), and a second one is refused before anything
moves, with the first one's process id and what to do: wait, then ``--resume``
(with a larger ``--trials`` for more trials). The kernel lets go of the lock when
its process ends, however it ends: a driver killed outright leaves nothing behind
and ``--resume`` may start at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from gitexp.core.names import check_name
from gitexp.errors import ConflictError
from gitexp.project import Project

FOLDER = "sweeps"
"""Under gitexp's state folder: one ``NAME.lock`` per sweep name ever driven here."""


@contextlib.contextmanager
def held(project: Project, name: str) -> Iterator[None]:
    """Hold sweep ``name``'s driver lock for the block; `ConflictError` when another holds it.

    `InvalidNameError` for a name no sweep can have (checked before it names a file).
    """
    check_name(name)
    folder = project.layout.state / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().decode(errors="replace").strip() or "unknown"
            raise ConflictError(
                f"sweep '{name}' is being run by another gitexp process (pid {holder}); "
                "a sweep has one driver at a time",
                hint=f"wait for it to end, then continue with `gitexp run -n {name} --resume` "
                "(with a larger --trials for more), or pick another -n",
            ) from None
        try:
            handle.truncate(0)
            handle.write(str(os.getpid()).encode())
            handle.flush()
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
