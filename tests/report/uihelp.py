"""A real ``gitexp ui`` process on a free port, and plain HTTP requests to it."""

from __future__ import annotations

import contextlib
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PY = sys.executable


@dataclass
class Ui:
    """A running ``gitexp ui``: the URL it printed and everything it wrote."""

    proc: subprocess.Popen[str]
    url: str
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _reader(proc: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        into.put(line)
    into.put("")


@contextlib.contextmanager
def running_ui(root: Path, *args: str) -> Iterator[Ui]:
    """``gitexp ui --port 0 ARGS`` in ``root``; stopped with SIGINT (as Ctrl-C) after.

    On the way out it checks that the server stopped with exit 0 and freed its port.
    """
    proc = subprocess.Popen(
        [PY, "-m", "gitexp", "ui", "--port", "0", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_reader, args=(proc, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=180)
            seen.append(line)
            if not line:
                raise AssertionError(f"gitexp ui ended: {''.join(seen)}")
            if " at http://" in line:
                break
        url = line.split(" at ", 1)[1].strip()
        port = int(url.split(":")[2].split("/")[0])
        ui = Ui(proc, url, port, seen)
        yield ui
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        while (line := _next(lines)) is not None:
            seen.append(line)
        if proc.stdout is not None:
            proc.stdout.close()
    assert code == 0, "".join(seen)
    assert "stopped" in "".join(seen)
    with socket.socket() as sock:  # nothing listens there any more: a new server can
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


def _next(lines: queue.Queue[str]) -> str | None:
    try:
        line = lines.get(timeout=2)
    except queue.Empty:
        return None
    return line or None


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]


def request(
    url: str, *, method: str = "GET", headers: Mapping[str, str] | None = None, body: bytes = b""
) -> Answer:
    """One HTTP request; any status is an answer (no exception for 4xx)."""
    req = urllib.request.Request(  # noqa: S310 - http to the server under test
        url, data=body if method != "GET" else None, method=method, headers=dict(headers or {})
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:  # noqa: S310 - as above
            return Answer(answer.status, answer.read(), dict(answer.headers))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), dict(exc.headers))
