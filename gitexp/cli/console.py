"""Where output goes: data to stdout, messages to stderr; errors to exit codes.

Every command (and every git hook) starts here, so what only some need (orjson for
``--json`` errors, traceback for ``--debug``) is imported when it is needed.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitexp.errors import GitexpError


def out(text: str = "") -> None:
    """Data, on stdout."""
    sys.stdout.write(text + "\n")


def out_bytes(data: bytes) -> None:
    """Bytes of data (JSON), on stdout, with a final newline."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)  # not ``data + b"\n"``: a copy of what may be megabytes
    sys.stdout.buffer.write(b"\n")
    sys.stdout.buffer.flush()


def say(text: str) -> None:
    """A message for the user, on stderr."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def warn(text: str) -> None:
    """A warning, on stderr."""
    say(f"warning: {text}")


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (tables and colours) rather than a pipe (plain text)."""
    return sys.stdout.isatty() and os.environ.get("TERM") != "dumb"


def run_command(args: argparse.Namespace) -> int:
    """Call the command's ``main``; map errors to messages and exit codes."""
    from gitexp.errors import GitexpError, Interrupted

    try:
        if args.directory:
            os.chdir(args.directory)
        code: int = args.func(args)
        return finish(code)
    except BrokenPipeError:
        if not stdout_closed():
            raise
        return reader_left()
    except GitexpError as exc:
        if args.debug:
            _print_traceback()
        report_error(exc, as_json=bool(getattr(args, "json", False)))
        return exc.exit_code
    except KeyboardInterrupt:
        report_error(Interrupted("interrupted"), as_json=bool(getattr(args, "json", False)))
        return 130
    except OSError as exc:
        if args.debug:
            _print_traceback()
        say(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        return 1


def finish(code: int) -> int:
    """Flush stdout now, where a reader that left can still be handled; returns ``code``.

    Left to the interpreter's exit, the flush would fail on a closed pipe with a
    traceback-like message and exit 120. The command finished, so its own exit code
    stands.
    """
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        if not stdout_closed():
            raise
        reader_left()
    return code


def stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (``gitexp show | head -1``).

    Asked of the pipe itself, so a broken pipe to some other process (a remote's
    git, a pager) is not mistaken for the user's reader leaving.
    """
    import select

    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (OSError, ValueError, AttributeError):
        return False
    return any(flags & (select.POLLERR | select.POLLHUP) for _fd, flags in events)


def reader_left() -> int:
    """Exit 0, quietly, when the reader of stdout stopped reading: it has what it wanted.

    What is still buffered cannot be written, and Python would report it at exit
    ("Exception ignored ... BrokenPipeError", exit 120), so stdout is pointed at
    the null device first, as Python's documentation advises for SIGPIPE.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return 0


def report_error(exc: GitexpError, *, as_json: bool) -> None:
    """The one place an error is shown: first line says what and what to do."""
    if as_json:
        doc = {"error": exc.kind, "message": exc.message, "hint": exc.hint}
        import orjson

        sys.stderr.buffer.write(orjson.dumps(doc) + b"\n")
        sys.stderr.flush()
        return
    line = f"error: {exc.message}"
    if exc.hint:
        line += f"; {exc.hint}"
    say(line)


def _print_traceback() -> None:
    import traceback

    traceback.print_exc()
