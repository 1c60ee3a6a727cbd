"""Who may read the UI and who may write through it.

Bound to a loopback address, anyone on this machine may read (as with any local
file); on any other address every request needs the token printed at start (as
Jupyter does), given as ``?token=``, ``Authorization: Bearer`` or the cookie the
first such request sets. Writes (tags and notes, the only ones) need more: a request
that names another origin is refused whatever it carries, and one with no token must
come from the page itself (its ``Origin`` is the server's own). A ``Host`` that is
not the server's is refused on loopback, so a web page cannot reach the UI through a
name that resolves to 127.0.0.1 (DNS rebinding).
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

COOKIE = "gitexp-token"
READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused: its HTTP status and a message that says what to do."""

    status: int
    message: str


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` serves this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Guard:
    """The rules for one server: its token, whether it is loopback-only, its port."""

    token: str
    loopback: bool
    port: int

    @property
    def token_required(self) -> bool:
        """Whether reading needs the token too (any address but loopback)."""
        return not self.loopback

    def check(
        self, method: str, headers: Mapping[str, str], query_token: str | None
    ) -> Refusal | None:
        """None when the request may go on; else why not. ``headers``: lower-case names."""
        host = headers.get("host", "")
        if self.loopback and not self._own_host(host):
            return Refusal(403, f"unknown host '{host}': open the address gitexp ui printed")
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            if method not in READ_METHODS:
                return Refusal(403, "refused: a page from another origin cannot write here")
            origin = None
        has_token = self._has_token(headers, query_token)
        if method in READ_METHODS:
            if self.token_required and not has_token:
                return Refusal(401, "this gitexp ui needs its token: open the URL it printed")
            return None
        if has_token or (self.loopback and origin is not None):
            return None
        return Refusal(403, "refused: writes come from the gitexp ui page, or carry its token")

    def _own_host(self, host: str) -> bool:
        name, _sep, port = host.rpartition(":")
        return port == str(self.port) and is_loopback(name)

    def _has_token(self, headers: Mapping[str, str], query_token: str | None) -> bool:
        given = [query_token, _bearer(headers.get("authorization")), _cookie(headers.get("cookie"))]
        return any(g is not None and hmac.compare_digest(g, self.token) for g in given)


def _bearer(value: str | None) -> str | None:
    if value is None:
        return None
    scheme, _sep, credential = value.partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else None


def _cookie(value: str | None) -> str | None:
    if not value:
        return None
    for part in value.split(";"):
        name, _sep, content = part.strip().partition("=")
        if name == COOKIE:
            return content
    return None
