"""Storage remote settings: which remote, its URL, its options; and redaction of secrets.

A remote is declared in ``gitexp.yaml`` (tracked, shared) as a URL or a mapping with
``url`` and non-secret options; credentials and per-machine options go only in the
local config (never tracked) or the environment. This module checks both, merges them
and says where a secret is not allowed. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from gitexp.errors import ConfigError, NotFoundError

SCHEMES = ("file", "s3", "gs", "az", "ssh", "sftp", "http", "https", "memory")
SECRET_OPTIONS = frozenset(
    {
        "key",
        "secret",
        "token",
        "password",
        "passphrase",
        "connection_string",
        "account_key",
        "sas_token",
        "client_secret",
        "session_token",
    }
)
PUBLIC_OPTIONS = frozenset(
    {
        "endpoint_url",
        "region",
        "profile",
        "anon",
        "project",
        "account_name",
        "username",
        "port",
        "key_file",
        "known_hosts",
        "host_key_check",
        "timeout",
        "retries",
        "jobs",
        "sign_payload",
    }
)
OPTIONS = SECRET_OPTIONS | PUBLIC_OPTIONS
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
Option = str | int | float | bool


@dataclass(frozen=True, slots=True)
class RemoteConfig:
    """One storage remote as gitexp uses it: name, URL, and options (secrets included)."""

    name: str
    url: str
    options: Mapping[str, Option] = field(default_factory=dict)

    @property
    def scheme(self) -> str:
        """The URL's scheme (``file`` for a plain path)."""
        return url_scheme(self.url)

    def secrets(self) -> list[str]:
        """The secret values in this remote's settings, to scrub from any message."""
        found = [str(v) for k, v in self.options.items() if k in SECRET_OPTIONS and v]
        password = urlsplit(self.url).password if "://" in self.url else None
        return found + ([password] if password else [])


def url_scheme(url: str) -> str:
    """``s3`` for ``s3://b/p``; ``file`` for a plain path (a drive path too)."""
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*)://", url)
    return match.group(1).lower() if match else "file"


def check_remote_name(name: str, where: str = "remote") -> str:
    """``name`` if it can name a storage remote; `ConfigError` otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{where}: {name!r} is not a valid remote name",
            hint="use letters, digits, '.', '_' and '-' (at most 64), "
            "starting with a letter or digit",
        )
    return name


def check_entry(name: str, value: object, where: str, *, shared: bool) -> dict[str, Option]:
    """Check one remote's settings (a URL string or a mapping); returns them as a mapping.

    ``shared`` settings (``gitexp.yaml``) must hold a URL and no secret: a secret there
    would be committed. `ConfigError` names the remote and the offending key.
    """
    check_remote_name(name, where)
    entry: dict[str, object] = {"url": value} if isinstance(value, str) else value  # type: ignore[assignment]
    if not isinstance(entry, dict):
        raise ConfigError(f"remote '{name}' in {where} must be a URL or a mapping with 'url'")
    for key, option in entry.items():
        _check_option(name, str(key), option, where, shared=shared)
    url = entry.get("url")
    if shared and not isinstance(url, str):
        raise ConfigError(f"remote '{name}' in {where} has no 'url'")
    if isinstance(url, str):
        _check_url(name, url, where, shared=shared)
    return {str(k): v for k, v in entry.items()}  # type: ignore[misc]


def _check_option(name: str, key: str, value: object, where: str, *, shared: bool) -> None:
    if key == "url":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"remote '{name}' in {where}: 'url' must be a non-empty string")
        return
    if key not in OPTIONS:
        raise ConfigError(
            f"remote '{name}' in {where} has an unknown option '{key}'",
            hint="known options: " + ", ".join(sorted(OPTIONS)),
        )
    if shared and key in SECRET_OPTIONS:
        raise ConfigError(
            f"remote '{name}' in {where} holds the secret '{key}', which would be committed",
            hint=f"remove it there and run `gitexp remote modify --local {name} {key} VALUE`, "
            "or set it in the environment",
        )
    if not isinstance(value, (str, int, float, bool)):
        raise ConfigError(f"remote '{name}' in {where}: option '{key}' must be a single value")


def _check_url(name: str, url: str, where: str, *, shared: bool) -> None:
    scheme = url_scheme(url)
    if scheme not in SCHEMES:
        raise ConfigError(
            f"remote '{name}' in {where}: unsupported URL scheme '{scheme}://'",
            hint="use a path, file://, s3://, gs://, az://, ssh://, sftp://, http:// or https://",
        )
    if shared and scheme != "file" and urlsplit(url).password:
        raise ConfigError(
            f"remote '{name}' in {where} has a password in its URL, which would be committed",
            hint="remove it there and put `password` in the local config "
            f"(`gitexp remote modify --local {name} password VALUE`)",
        )


def check_remotes(
    raw: Mapping[str, object], where: str, *, shared: bool
) -> dict[str, dict[str, Option]]:
    """Check a ``remotes:`` mapping; every entry as a mapping (see `check_entry`)."""
    return {str(n): check_entry(str(n), v, where, shared=shared) for n, v in raw.items()}


def resolve_remote(
    name: str | None,
    default: str | None,
    shared: Mapping[str, object],
    local: Mapping[str, object],
    local_default: str | None = None,
) -> RemoteConfig:
    """The remote called ``name`` (or the default one), its shared and local settings merged.

    Raises `NotFoundError` naming the known remotes when there is no such remote, or
    when no name is given and no default is set.
    """
    chosen = name or local_default or default
    known = sorted(
        set(shared) | {n for n, v in local.items() if isinstance(v, dict) and "url" in v}
    )
    if chosen is None:
        if len(known) == 1:
            chosen = known[0]
        else:
            raise NotFoundError(
                "no storage remote is set"
                if not known
                else "several storage remotes and no default: " + ", ".join(known),
                hint="add one with `gitexp remote add NAME URL --default`"
                if not known
                else "pick one with -r NAME, or set a default: `gitexp remote default NAME`",
            )
    if chosen not in known:
        raise NotFoundError(
            f"unknown storage remote '{chosen}'",
            hint=("known remotes: " + ", ".join(known))
            if known
            else "add one with `gitexp remote add NAME URL`",
        )
    merged: dict[str, object] = {}
    base = shared.get(chosen)
    merged.update({"url": base} if isinstance(base, str) else dict(base or {}))  # type: ignore[call-overload]
    extra = local.get(chosen)
    if isinstance(extra, dict):
        merged.update(extra)
    url = str(merged.pop("url"))
    return RemoteConfig(chosen, url, {k: v for k, v in merged.items()})  # type: ignore[misc]


def redact_url(url: str) -> str:
    """``url`` safe to print: no password in it, no query values (signatures, tokens)."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.split(':', 1)[0]}:***@{host}" if ":" in user else f"{user}@{host}"
    query = (
        "&".join(f"{p.split('=', 1)[0]}=***" for p in parts.query.split("&")) if parts.query else ""
    )
    text = f"{parts.scheme}://{netloc}{parts.path}"
    return text + (f"?{query}" if query else "")


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value (4 characters or more) replaced by ``***``."""
    for secret in sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
