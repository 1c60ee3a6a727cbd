"""A worker's create-only pushes of its experiments' refs, several runs in one ``git push``.

A push to the git remote costs a handful of git processes on each side, more than
the rest of a short run's bookkeeping together. A worker that runs runs back to
back hands each finished run's ref to its process's `RefPusher` and leaves Dask's
thread pool (`distributed.secede`), so the next run starts at once; the pusher
sends the refs waiting then in one atomic, create-only push once no other run of
this process is under way (or one has waited `BATCH_WAIT`). Each run's task
returns only when its ref is on the remote: a run is never reported done before.

A batch that the remote refuses (one of its refs exists there: a task run again
after its first worker pushed) is pushed again ref by ref, so each run learns on
its own whether its ref or another task's counts.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.errors import ConflictError, GitexpError
from gitexp.git import transport
from gitexp.git.maintenance import drop_ref
from gitexp.git.repo import GitRepo

BATCH_WAIT = 1.0
"""Seconds a finished run's ref waits at most for the refs of the runs after it."""
IDLE_GRACE = 0.05
"""Seconds the pusher waits, once no run is under way, for the next run to start."""
MAX_BATCH = 32
"""Refs in one push at most."""


@dataclass
class _Waiting:
    """A ref handed over, and then what the remote holds for it (or why it is not known)."""

    ref: str
    commit: str
    done: threading.Event = field(default_factory=threading.Event)
    there: str | None = None
    error: BaseException | None = None


class RefPusher:
    """Pushes one repository's experiment refs to one git remote, in batches (see module)."""

    def __init__(self, git: GitRepo, url: str) -> None:
        self.git = GitRepo(git.root, git.git_dir, git.common_dir)  # its own libgit2 handle
        self.url = url
        self._cond = threading.Condition()
        self._active = 0
        self._pending: list[_Waiting] = []
        self._since = 0.0
        self._last = 0.0
        threading.Thread(target=self._loop, name="gitexp-refpush", daemon=True).start()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """A run under way in this process: the refs handed over meanwhile wait for its own."""
        with self._cond:
            self._active += 1
        try:
            yield
        finally:
            with self._cond:
                self._active -= 1
                self._last = time.monotonic()
                self._cond.notify_all()

    def push(self, ref: str, commit: str) -> str:
        """Create ``ref`` at ``commit`` on the remote; the commit the remote holds for it then.

        That is ``commit``, or another task's when the ref was there already (then it
        counts). Blocks until the push that carried it ended; raises what it raised.
        """
        waiting = _Waiting(ref, commit)
        with self._cond:
            if not self._pending:
                self._since = time.monotonic()
            self._pending.append(waiting)
            self._last = time.monotonic()
            self._cond.notify_all()
        waiting.done.wait()
        if waiting.error is not None:
            raise waiting.error
        assert waiting.there is not None  # noqa: S101 - set with done when error is not
        return waiting.there

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            try:
                self._send(batch)
            except BaseException as exc:  # every waiter hears of it: none waits forever
                for waiting in batch:
                    if waiting.there is None and waiting.error is None:
                        waiting.error = exc
            for waiting in batch:
                waiting.done.set()

    def _next_batch(self) -> list[_Waiting]:
        """The refs to push now, once it is time (see the module's docstring)."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self._pending:
                    waited, idle = now - self._since, now - self._last
                    if len(self._pending) >= MAX_BATCH or waited >= BATCH_WAIT:
                        break
                    if self._active == 0 and idle >= IDLE_GRACE:
                        break
                    wait = IDLE_GRACE - idle if self._active == 0 else BATCH_WAIT - waited
                    self._cond.wait(max(wait, 0.001))
                else:
                    self._cond.wait()
            batch, self._pending = self._pending, []
            return batch

    def _send(self, batch: list[_Waiting]) -> None:
        pushes = [transport.RefPush(w.ref, w.commit, None) for w in batch]
        try:
            transport.push_refs(self.git, self.url, pushes)
        except ConflictError:
            if len(batch) > 1:
                for waiting in batch:
                    try:
                        self._send([waiting])
                    except GitexpError as exc:
                        waiting.error = exc
                return
            (waiting,) = batch
            there = transport.ls_remote(self.git, self.url, waiting.ref).get(waiting.ref)
            if there is None:
                raise
            waiting.there = there
            _forget(self.git, waiting)
            return
        for waiting in batch:
            waiting.there = waiting.commit
            _forget(self.git, waiting)


def _forget(git: GitRepo, waiting: _Waiting) -> None:
    """Drop the worker's own ref of a run the git remote now holds: refs do not pile up.

    Until the remote holds it, the ref stays: a retried task adopts it. In this
    process (`drop_ref`), not with a git process per run.
    """
    drop_ref(git, waiting.ref, waiting.commit)


_PUSHERS: dict[tuple[Path, str], RefPusher] = {}
_LOCK = threading.Lock()


def pusher(git: GitRepo, url: str) -> RefPusher:
    """This process's pusher for repository ``git`` and the git remote ``url`` (made once)."""
    with _LOCK:
        found = _PUSHERS.get((git.common_dir, url))
        if found is None:
            found = _PUSHERS[(git.common_dir, url)] = RefPusher(git, url)
        return found


def leave_pool() -> None:
    """Let the Dask worker start its next task while this one waits (no-op outside Dask)."""
    try:
        from distributed import secede

        secede()  # type: ignore[no-untyped-call]  # distributed leaves it unannotated
    except (ImportError, ValueError):  # not in a Dask worker's task
        return
