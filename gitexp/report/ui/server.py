"""``gitexp ui``'s server: binds the port, then serves the app under uvicorn until stopped.

The socket is bound before anything is served, so the URL (with a free port when 0
was asked for) is known and can be printed first. The page data is built as the
server starts, on a thread of its own: the port answers at once (a browser opened
with ``--open`` starts meanwhile) and the first page is sent when its data is ready,
with the table in it. uvicorn comes with the
``ui`` extra and is imported only by `UiServer.serve`; without it, `require_ui` names
the install. Ctrl-C (or SIGTERM) stops the server, closes the port and ends the live
streams within about a second.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass

from gitexp.errors import GitexpError, UsageError
from gitexp.report.html import MissingExtraError
from gitexp.report.ui.guard import Guard, is_loopback
from gitexp.report.ui.source import UiSource
from gitexp.report.ui.state import PageState

UI_EXTRA = "pip install 'gitexp[ui]'"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class UiPortError(GitexpError):
    """The UI could not listen on the address asked for."""

    kind = "ui"


def require_ui() -> None:
    """`MissingExtraError` naming the install when uvicorn or starlette is missing."""
    try:
        import starlette  # noqa: F401 - only checking that it is there
        import uvicorn  # noqa: F401 - only checking that it is there
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"gitexp ui needs {exc.name}, which is not installed",
            hint=f"install the ui extra: {UI_EXTRA}",
        ) from exc


@dataclass(frozen=True, slots=True)
class UiServer:
    """A bound, not yet serving, UI: where it listens and what a browser must open.

    ``url`` carries the token when one is required (any address but loopback).
    """

    host: str
    port: int
    token: str
    token_required: bool
    state: PageState
    sock: socket.socket

    @property
    def url(self) -> str:
        """The address to open, with ``?token=`` when the token is required."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{shown}:{self.port}/"
        return f"{base}?token={self.token}" if self.token_required else base

    def serve(self) -> None:
        """Serve until interrupted (`KeyboardInterrupt` on Ctrl-C); the port is closed after."""
        from gitexp.report.ui.watch import Watcher

        watcher = Watcher(self.state)
        watcher.start()  # the first page data is read while the web server loads
        import uvicorn

        from gitexp.report.ui.app import build_app

        guard = Guard(self.token, not self.token_required, self.port)
        app = build_app(self.state, guard, watcher)
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        try:
            uvicorn.Server(config).run(sockets=[self.sock])
        finally:
            watcher.stop()
            self.sock.close()

    def close(self) -> None:
        """Free the port without serving."""
        self.sock.close()


def open_ui(source: UiSource, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> UiServer:
    """Bind ``host:port`` (0: any free port); the page data is built once it serves.

    Raises `MissingExtraError` without the ``ui`` extra, `UsageError` for a port out of
    range, `UiPortError` when the address cannot be bound (in use, not this machine's).
    """
    require_ui()
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port", hint="give 0 to 65535 (0: any free port)")
    sock = _bind(host, port)
    state = PageState(source)
    return UiServer(
        host=host,
        port=sock.getsockname()[1],
        token=secrets.token_urlsafe(24),
        token_required=not is_loopback(host),
        state=state,
        sock=sock,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host.strip("[]"), port), family=family, reuse_port=False)
    except OSError as exc:
        raise UiPortError(
            f"gitexp ui cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="pick another port with --port (0: any free one), or another --host",
        ) from exc
