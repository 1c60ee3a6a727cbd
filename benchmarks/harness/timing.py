"""Timing one whole command: a new process, its wall time and its peak memory.

The command runs as a user runs it: a fresh process, stdout to a file (as when it is
piped), stderr kept for the error message. Peak memory comes from ``wait4``, the
kernel's account of that child (and of any children it waited for).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Step:
    """One command to time, and what to do (untimed) before each run of it."""

    argv: list[str]
    cwd: Path
    before: list[object] = field(default_factory=list)
    """Callables run before every run (a warm-up included): reset the state."""
    env: dict[str, str] | None = None
    label: str = ""
    """How notes name the command (default: the program and its first argument)."""

    def prepare(self) -> None:
        for action in self.before:
            action()  # type: ignore[operator]


@dataclass
class Sample:
    """One run of a command."""

    seconds: float
    peak_rss_kib: int
    code: int
    stderr: str


class CommandFailed(Exception):
    """A timed command exited non-zero."""

    def __init__(self, step: Step, sample: Sample) -> None:
        lines = [line for line in sample.stderr.strip().splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit code {sample.code}"
        super().__init__(f"`{' '.join(step.argv)}` exited {sample.code}: {detail}")
        self.sample = sample


def run_once(step: Step, scratch: Path, env: dict[str, str]) -> Sample:
    """Run ``step`` once (after its ``before`` actions); raise `CommandFailed` on non-zero exit."""
    step.prepare()
    scratch.mkdir(parents=True, exist_ok=True)
    with open(scratch / "stdout", "wb") as out, open(scratch / "stderr", "w+b") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            step.argv, cwd=step.cwd, env=step.env or env, stdout=out, stderr=err
        )
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    sample = Sample(seconds, int(usage.ru_maxrss), proc.returncode, stderr[-4000:])
    if sample.code != 0:
        raise CommandFailed(step, sample)
    return sample


def check_call(
    argv: list[str], cwd: Path, env: dict[str, str], *, input: bytes | None = None
) -> str:
    """Run an untimed set-up command; its stdout. Raises RuntimeError with its stderr."""
    proc = subprocess.run(argv, cwd=cwd, env=env, input=input, capture_output=True, check=False)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()[-2000:]
        raise RuntimeError(f"`{' '.join(map(str, argv))}` failed ({proc.returncode}): {detail}")
    return proc.stdout.decode(errors="replace")
