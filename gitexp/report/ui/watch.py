"""The threads that keep the UI's page state current while it serves.

Kept apart from the ASGI application so that `gitexp.report.ui.server` can start them
before it imports the web server: the first page data is read while uvicorn and
Starlette load.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gitexp.core.heap import collect_frozen
from gitexp.errors import GitexpError
from gitexp.report.ui.state import PageState

POLL_S = 0.25
"""How often the journals and refs are looked at: a logged value shows within 2 s."""
SWEEP_S = 600.0
"""How often, at most, the recorded rows' thread collects what earlier rebuilds froze
(`gitexp.core.heap.collect_frozen`), when the rows were built again since."""


class Watcher:
    """Refreshes the page state every `POLL_S` on threads of its own until stopped.

    One thread follows the running experiments, another the recorded ones, so a
    rebuild of many recorded rows never holds up live values. The first build
    starts before the web server is loaded: the port answers once it is, and what
    needs the page data waits for it (`PageState.ready`). A refresh that fails (a
    broken series file, say) keeps the last good state and says why in ``problem``,
    which the page shows.
    """

    def __init__(self, state: PageState, *, sweep_s: float = SWEEP_S) -> None:
        self.state = state
        self.sweep_s = sweep_s
        self._problems: dict[str, str | None] = {}
        self.stopping = threading.Event()
        self._starting = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(step, sweeps), name=name, daemon=True)
            for step, name, sweeps in (
                (state.refresh_running, "gitexp-ui-running", False),
                (state.refresh_recorded, "gitexp-ui-recorded", True),
            )
        ]

    def start(self) -> None:
        """Begin watching (once; again does nothing): the first refresh starts at once."""
        with self._starting:
            for thread in self._threads:
                if thread.ident is None and not self.stopping.is_set():
                    thread.start()

    def stop(self) -> None:
        """Stop and wait for the threads."""
        self.stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)

    @property
    def problem(self) -> str | None:
        """Why the page is not up to date, or None."""
        return next((said for said in self._problems.values() if said), None)

    def refresh(self) -> None:
        """One refresh of both, its problem kept."""
        self._step(self.state.refresh_recorded)
        self._step(self.state.refresh_running)

    def _step(self, step: Callable[[], bool]) -> None:
        try:
            step()
        except GitexpError as exc:
            self._problems[step.__name__] = exc.message
        else:
            self._problems[step.__name__] = None

    def _loop(self, step: Callable[[], bool], sweeps: bool) -> None:
        """``step`` every `POLL_S`; with ``sweeps``, what rebuilds froze is collected too.

        At most every ``sweep_s`` (`SWEEP_S` unless told), once the rows were built
        again since the last sweep. Each rebuild of the recorded rows freezes what is
        alive (`kept_objects`); a cycle among those objects that is dropped later would
        never be collected, a slow leak for a UI left running for days.
        """
        self._step(step)  # at once: the first page waits for this
        swept, version = time.monotonic(), self.state.snapshot.version
        while not self.stopping.wait(POLL_S):
            self._step(step)
            if sweeps and time.monotonic() - swept >= self.sweep_s:
                if self.state.snapshot.version != version:
                    collect_frozen()
                swept, version = time.monotonic(), self.state.snapshot.version
