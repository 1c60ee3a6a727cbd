"""SIGINT and SIGTERM, as the command line handles them.

By default both raise `KeyboardInterrupt` (SIGTERM is handled like Ctrl-C, so cleanup
still happens) and the command ends with exit code 130. A command whose outcome must
agree with what it records (``run``) defers them instead: inside `deferred` a signal
only sets an event that the command polls, so it can never land between writing a
record and reporting it. Once the command has returned, its outcome is decided and
`settle` ignores both signals for the rest of the process's life (Python would
otherwise restore the default action while it shuts down, and die of a late signal).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)
_deferred: list[threading.Event] = []
_installed = False


def install() -> None:
    """Handle SIGINT and SIGTERM for the whole process (a SIGINT ignored at start stays so)."""
    global _installed
    _installed = True
    for sig in SIGNALS:
        if signal.getsignal(sig) is not signal.SIG_IGN:
            signal.signal(sig, _handle)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _deferred:
        _deferred[-1].set()
        return
    raise KeyboardInterrupt


@contextlib.contextmanager
def deferred() -> Iterator[threading.Event]:
    """An event that SIGINT and SIGTERM set, instead of raising, within the block.

    Under `install` the deferral outlives the block: the process is about to end with
    the outcome the block decided. Called in-process without it (tests), the block
    handles the signals itself and puts the previous handlers back after.
    """
    event = threading.Event()
    previous = {}
    if not _installed and threading.current_thread() is threading.main_thread():
        previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
        for sig in SIGNALS:
            if previous[sig] is not signal.SIG_IGN:
                signal.signal(sig, _handle)
    _deferred.append(event)
    try:
        yield event
    finally:
        if not _installed:
            _deferred.remove(event)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def settle() -> None:
    """Ignore SIGINT and SIGTERM from now on: the command is done, its outcome decided."""
    for sig in SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
