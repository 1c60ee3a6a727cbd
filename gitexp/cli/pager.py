"""The user's pager, for tables wider than the terminal.

A wide table that a terminal wraps or that rich folds into its cells puts a header's
last letters and a number's last digit on lines of their own (``0.857`` / ``3``),
which reads as another value. So a table that does not fit is drawn at its full width
and handed to the pager, which scrolls sideways: ``GITEXP_PAGER``, else ``PAGER``,
else ``less``, with ``LESS=FRSX`` when ``LESS`` is unset, as git does (quit when it
fits, colours, chop long lines instead of wrapping them, keep the screen).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys

DEFAULT_PAGER = "less"
DEFAULT_LESS = "FRSX"


def pager_command() -> str | None:
    """The pager to run (a shell command line), or None when the user turned paging off.

    As in git, an empty value or ``cat`` means no pager.
    """
    for name in ("GITEXP_PAGER", "PAGER"):
        value = os.environ.get(name)
        if value is not None:
            value = value.strip()
            return None if value in ("", "cat") else value
    return DEFAULT_PAGER


def page(text: str) -> bool:
    """Show ``text`` through the pager; False when there is none to run (print it then).

    The pager gets the terminal as its output and gitexp waits for it. A pager that
    quits before reading everything (``q`` in less) is the user's choice, not an
    error: the rest is dropped quietly.
    """
    command = pager_command()
    if command is None or (command == DEFAULT_PAGER and shutil.which(DEFAULT_PAGER) is None):
        return False
    env = dict(os.environ)
    env.setdefault("LESS", DEFAULT_LESS)
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    try:
        # The pager is a command line of the user's (as git runs core.pager), so a shell
        # reads it: "less -S", "delta --side-by-side" and the like all work.
        proc = subprocess.Popen(  # noqa: S602 - the user's own pager setting, run as git does
            command, shell=True, stdin=subprocess.PIPE, env=env
        )
    except OSError:
        return False
    data = text.encode(sys.stdout.encoding or "utf-8", errors="replace")
    with contextlib.suppress(KeyboardInterrupt):
        proc.communicate(data)  # a pager that quits early closes its end: ignored there
    _wait(proc)
    return True


def _wait(proc: subprocess.Popen[bytes]) -> None:
    """Wait for the pager; Ctrl-C is the pager's to handle (less stops a search with it)."""
    while True:
        try:
            proc.wait()
        except KeyboardInterrupt:
            continue
        return
