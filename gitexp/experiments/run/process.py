"""Running the experiment's command: output streamed to the caller and kept in a log."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gitexp.errors import CommandError, Interrupted

OutputSink = Callable[[bytes, bool], None]
"""Receives each chunk of the command's output; the flag is true for stderr."""

_SHELL_CHARS = set("|&;<>()$`*?[]{}~\\\"'\n")
STOP_GRACE = 1.0
"""Seconds an interrupted command has to end by itself before gitexp signals it."""
_SHELL_WORDS = {"cd", "export", "source", ".", "set", "if", "for", "while", "exec"}
_TETHERED: contextvars.ContextVar[bool] = contextvars.ContextVar("gitexp_tethered", default=False)
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True, slots=True)
class Command:
    """What to run: an argv, or a shell line (run by ``sh -c``)."""

    argv: tuple[str, ...]
    shell: bool = False

    @property
    def recorded(self) -> tuple[str, ...]:
        """The command as ``run.json`` keeps it."""
        return ("sh", "-c", self.argv[0]) if self.shell else self.argv


def parse_command(words: Sequence[str] | str) -> Command:
    """A command from CLI words or a config string.

    One string with shell syntax (pipes, ``&&``, quotes, variables) runs through the
    shell; anything else runs directly, so no shell quoting surprises.
    """
    if isinstance(words, str):
        words = [words]
    if not words or not any(w.strip() for w in words):
        raise CommandError(
            "no command to run",
            hint="give one after --, e.g. `gitexp run -- python train.py`, or set "
            "'command:' in gitexp.yaml",
        )
    if len(words) == 1 and (set(words[0]) & _SHELL_CHARS or " " in words[0].strip()):
        line = words[0].strip()
        if set(line) & _SHELL_CHARS:
            return Command((line,), shell=True)  # noqa: S604 - a shell line the user wrote
        return Command(tuple(shlex.split(line)))
    return Command(tuple(words))


def check_command(command: Command, cwd: Path) -> None:
    """Fail early, before anything is written, when the program does not exist."""
    if command.shell:
        first = command.argv[0].split()[0]
        if first in _SHELL_WORDS or set(first) & _SHELL_CHARS or "=" in first:
            return
    else:
        first = command.argv[0]
    if "/" in first:
        target = (cwd / first) if not os.path.isabs(first) else Path(first)
        if target.exists():
            return
    elif shutil.which(first) is not None:
        return
    raise CommandError(
        f"command '{first}' not found",
        hint="check the spelling, or that the program is installed and on PATH",
    )


def run_command(
    command: Command,
    *,
    cwd: Path,
    env: Mapping[str, str],
    log: BinaryIO,
    on_output: OutputSink | None = None,
    stop: threading.Event | None = None,
    on_start: Callable[[int], None] | None = None,
) -> int:
    """Run ``command`` to the end; its exit code (negative: killed by that signal).

    stdout and stderr are copied to ``log`` (interleaved as they arrive) and passed to
    ``on_output``. When ``stop`` is set (a signal the caller turned into an event) or
    Ctrl-C raises here, the command gets a moment to stop by itself (a terminal sent
    it the same signal), then SIGINT, SIGTERM and SIGKILL. Its exit code is returned
    once it has ended, with ``stop`` set, so the run can be recorded as interrupted;
    without a ``stop`` event, Ctrl-C raises `Interrupted` instead. ``on_start``
    hears the command's pid as soon as it runs.

    A command without a terminal (no ``on_output``: worktree and cluster runs) runs
    in a session (so a process group) of its own, and a stop signals that whole group at once, so
    nothing it started runs on after it.
    """
    argv: list[str] | str = command.argv[0] if command.shell else list(command.argv)
    own_group = on_output is None
    try:
        proc = subprocess.Popen(
            argv,
            shell=command.shell,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL if own_group else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=own_group,
            preexec_fn=_death_wish() if own_group and _TETHERED.get() else None,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise CommandError(
            f"cannot start '{command.argv[0]}': {exc.strerror}",
            hint="check the command and that it is executable",
        ) from exc
    if on_start is not None:
        on_start(proc.pid)
    lock = threading.Lock()
    assert proc.stdout is not None and proc.stderr is not None  # noqa: S101 - PIPE above
    readers = [
        threading.Thread(
            target=_pump, args=(proc.stdout, False, log, lock, on_output), daemon=True
        ),
        threading.Thread(target=_pump, args=(proc.stderr, True, log, lock, on_output), daemon=True),
    ]
    for reader in readers:
        reader.start()
    try:
        code = _wait(proc, stop, own_group)
    except KeyboardInterrupt:
        code = _stop(proc, own_group)
        if stop is None:
            raise Interrupted("interrupted; the run was not recorded") from None
        stop.set()
    finally:
        for reader in readers:
            reader.join(timeout=5)
    return code


@contextlib.contextmanager
def tethered() -> Iterator[None]:
    """Commands started by this thread in the block die with this process (Linux).

    A cluster's worker killed outright (SIGKILL, out of memory) must not leave its
    runs' commands running on as orphans: the task runs again elsewhere, and the
    orphan would go on writing and using the machine. Each command (in a session
    of its own) is started with a parent-death signal, SIGKILL, so the kernel ends
    it with the thread that started it; that thread waits for it, so it lives as
    long as the command does. What the command started itself, in its process
    group, is left to the worker that next starts in the same folder (see
    ``executors.orphans``). Where the call is not available, nothing changes.
    """
    token = _TETHERED.set(True)
    try:
        yield
    finally:
        _TETHERED.reset(token)


def _death_wish() -> Callable[[], None] | None:
    """What the child runs before exec: ask for SIGKILL when its parent dies; None if unsupported.

    Only a foreign call to ``prctl``, resolved here in the parent, runs in the child
    (no import, no lock). A parent that died before the wish was made is seen at
    once (the child was moved to another parent): the child ends itself.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def wish() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return wish


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """Linux's ``prctl`` through ctypes, or None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, *[ctypes.c_ulong] * 4]
    function.restype = ctypes.c_int
    return function


def _wait(proc: subprocess.Popen[bytes], stop: threading.Event | None, group: bool) -> int:
    """Wait for the command; when ``stop`` is set, end it (gently first)."""
    if stop is None:
        return proc.wait()
    while True:
        try:
            return proc.wait(timeout=0.05)
        except subprocess.TimeoutExpired:
            if stop.is_set():
                return _stop(proc, group)


def _pump(
    stream: BinaryIO, is_err: bool, log: BinaryIO, lock: threading.Lock, sink: OutputSink | None
) -> None:
    fd = stream.fileno()
    while chunk := os.read(fd, 65536):
        with lock:
            log.write(chunk)
            log.flush()  # on disk at once: the journal of a run that may crash
            if sink is not None:
                with contextlib.suppress(OSError, ValueError):
                    sink(chunk, is_err)
    stream.close()


def _stop(proc: subprocess.Popen[bytes], group: bool, grace: float = STOP_GRACE) -> int:
    """End the command after an interrupt, gently first; its exit code.

    A command sharing gitexp's process group gets ``grace`` seconds to end by itself
    (a terminal's Ctrl-C reached it too); one in a group of its own heard nothing, so
    its group gets SIGINT at once. Then SIGTERM and at last SIGKILL; the group of
    its own gets each signal, and SIGKILL once the command has ended too.
    """
    steps = ((signal.SIGINT, 5.0), (signal.SIGTERM, 3.0))
    for sig, wait in steps if group else ((None, grace), *steps):
        if sig is not None:
            _signal(proc, sig, group)
        while True:
            try:
                code = proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                break
            except KeyboardInterrupt:
                continue
            if group:  # what it started and left behind goes with it
                _signal(proc, signal.SIGKILL, group)
            return code
    _signal(proc, signal.SIGKILL, group)
    return proc.wait()


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
