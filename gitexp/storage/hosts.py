"""Builders of remotes on a filesystem or a host: a folder, memory, SFTP, read-only HTTP.

Each is a `gitexp.storage.scheme.Scheme`; none reads the environment (SSH keys and
agents are the SSH library's business, as they are git's).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gitexp.core.remotes import Option, RemoteConfig, redact_url
from gitexp.errors import ConfigError
from gitexp.storage.backend import Backend
from gitexp.storage.local import LocalBackend
from gitexp.storage.memory import MemoryBackend
from gitexp.storage.scheme import Scheme, flag, fsspec_backend, require, secrets_of, timeout_of

_MEMORY: dict[str, MemoryBackend] = {}
_MEMORY_LOCK = threading.Lock()


def local_folder(url: str, root: Path) -> Path:
    """The folder of a path or ``file://`` remote; a relative path is from ``root``."""
    path = unquote(urlsplit(url).path) if url.startswith("file://") else url
    folder = Path(path).expanduser()
    return folder if folder.is_absolute() else root / folder


def _local(remote: RemoteConfig, _options: Mapping[str, Option], root: Path) -> Backend:
    return LocalBackend(local_folder(remote.url, root), remote.url)


def _memory(remote: RemoteConfig, _options: Mapping[str, Option], _root: Path) -> Backend:
    """One in-memory remote per URL for the life of the process."""
    with _MEMORY_LOCK:
        return _MEMORY.setdefault(remote.url, MemoryBackend(remote.url))


def _ssh_login(remote: RemoteConfig, options: Mapping[str, Option]) -> dict[str, Any]:
    parts = urlsplit(remote.url)
    login: dict[str, Any] = {"timeout": min(timeout_of(options), 10.0)}
    username = options.get("username") or parts.username
    if username:
        login["username"] = str(username)
    password = options.get("password") or parts.password
    if password:
        login["password"] = str(password)
    if options.get("key_file"):
        login["client_keys"] = [str(Path(str(options["key_file"])).expanduser())]
    if options.get("known_hosts"):
        login["known_hosts"] = str(Path(str(options["known_hosts"])).expanduser())
    elif "host_key_check" in options and not flag(options["host_key_check"]):
        login["known_hosts"] = None
    return login


def _ssh(remote: RemoteConfig, options: Mapping[str, Option], _root: Path) -> Backend:
    sshfs = require("sshfs", "ssh", remote.scheme)
    parts = urlsplit(remote.url)
    if not parts.hostname:
        raise ConfigError(f"remote '{remote.name}': {redact_url(remote.url)} names no host")
    login = _ssh_login(remote, options)
    port = options.get("port") or parts.port or 22
    try:
        fs = sshfs.SSHFileSystem(parts.hostname, port=int(port), skip_instance_cache=True, **login)
    except Exception as exc:
        from gitexp.storage.fs import FsspecBackend

        probe = FsspecBackend(None, "", redact_url(remote.url), secrets=secrets_of(remote, options))
        raise probe._translate(exc, "connect", parts.hostname) from exc
    return fsspec_backend(
        fs,
        unquote(parts.path),
        redact_url(remote.url),
        atomic_put=False,
        secrets=secrets_of(remote, options),
        timeout=timeout_of(options),
        container="folder",
        identity=f"ssh://{login.get('username', '')}@{parts.hostname}:{port}{unquote(parts.path)}",
    )


def _http(remote: RemoteConfig, options: Mapping[str, Option], _root: Path) -> Backend:
    require("aiohttp", "http", remote.scheme)
    http = require("fsspec.implementations.http", "http", remote.scheme)
    fs = http.HTTPFileSystem(skip_instance_cache=True, block_size=0)
    return fsspec_backend(
        fs,
        remote.url.rstrip("/"),
        redact_url(remote.url),
        read_only=True,
        secrets=secrets_of(remote, options),
        timeout=timeout_of(options),
        container="site",
    )


LOCAL = Scheme(_local)
MEMORY = Scheme(_memory)
SSH = Scheme(
    _ssh,
    options=frozenset(
        {"username", "password", "port", "key_file", "known_hosts", "host_key_check"}
    ),
    package="sshfs",
    extra="ssh",
)
HTTP = Scheme(_http, package="aiohttp", extra="http")
