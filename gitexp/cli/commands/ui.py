"""``gitexp ui``: serve the live UI until Ctrl-C."""

from __future__ import annotations

import argparse

from gitexp.cli.console import say


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``gitexp ui``."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1, this machine only; "
        "any other needs the token printed at start)",
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="the port to listen on (default 8765; 0: any free)"
    )
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Bind, say where, serve; Ctrl-C stops it (exit 0)."""
    from gitexp.api import Repo

    server = Repo(".").ui(host=args.host, port=args.port)
    say(f"gitexp ui: serving this repository's experiments at {server.url}")
    if server.token_required:
        say("the token in this address is required to open it: share it only with who may see")
    say("press Ctrl-C to stop")
    if args.open:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve()
    except KeyboardInterrupt:
        say("gitexp ui: stopped")
    return 0
