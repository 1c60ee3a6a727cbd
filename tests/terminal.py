"""Run a command with a pseudo-terminal as its error output (and input), as a user does."""

from __future__ import annotations

import os
import select
import subprocess
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
