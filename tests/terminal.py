"""Run a command with a pseudo-terminal as its error output (and input), as a user does."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path

import pytest


def on_terminal(
    argv: Sequence[str], cwd: Path, *, answer: bytes | None = None, prompt: bytes = b"[Y/n]"
) -> tuple[int, str]:
    """Exit code and everything written to the terminal; ``answer`` is typed at ``prompt``.

    Standard output goes nowhere, so what shows is what a command draws on stderr.
    Skips the test where no pseudo-terminal can be opened.
    """
    try:
        master, slave = os.openpty()
    except OSError as exc:  # no pseudo-terminals on this machine
        pytest.skip(f"cannot open a pseudo-terminal: {exc}")
    proc = subprocess.Popen(
        list(argv), cwd=cwd, stdin=slave, stdout=subprocess.DEVNULL, stderr=slave
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    answered = answer is None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if not answered and prompt in seen:
            os.write(master, answer or b"")
            answered = True
        if proc.poll() is not None and not ready:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, seen.decode(errors="replace")


ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\x1b\][^\x07]*\x07|\x1bO[A-Z]|[\x07\x08]")


def on_screen(
    argv: Sequence[str],
    cwd: Path,
    *,
    size: tuple[int, int] = (40, 120),
    env: dict[str, str] | None = None,
    keys: Sequence[tuple[bytes, bytes]] = (),
    timeout: float = 60,
) -> tuple[int, str]:
    """Exit code and what a terminal of ``size`` (rows, columns) showed, escapes removed.

    Standard input, output and error are all the terminal, so a command sees a screen
    of that size and can start a pager on it. ``keys`` are typed in turn, each once
    its first part has been shown (``(b"(END)", b"q")``).
    """
    try:
        master, slave = os.openpty()
    except OSError as exc:  # no pseudo-terminals on this machine
        pytest.skip(f"cannot open a pseudo-terminal: {exc}")
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-c", _TAKE_TERMINAL, *argv],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    seen = b""
    mark = 0
    pending = list(keys)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        if pending and pending[0][0] in ANSI.sub(b"", seen[mark:]):
            os.write(master, pending.pop(0)[1])
            mark = len(seen)
        if proc.poll() is not None and not ready:
            break
    else:
        proc.kill()
    code = proc.wait(timeout=30)
    os.close(master)
    return code, ANSI.sub(b"", seen).decode(errors="replace").replace("\r", "")


# A new session whose controlling terminal is the one on stdin, as a login shell has
# (less reads its keys from /dev/tty), then the command itself.
_TAKE_TERMINAL = (
    "import fcntl, os, sys, termios; os.setsid(); fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)
