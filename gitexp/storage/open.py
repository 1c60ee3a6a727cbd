"""Opening a storage remote from its settings: the scheme's builder, then the wrappers.

Each URL scheme has one builder (`gitexp.storage.clouds`, `gitexp.storage.hosts`)
owning its options and the environment variables it reads; heavy libraries (s3fs,
gcsfs, adlfs, sshfs, aiohttp) are imported only when a remote of their scheme is
opened, and a missing one is a `StorageError` naming the ``pip install`` to run.
Around the backend go bounded retries (`gitexp.storage.retry`) and, when a folder
for them is given, the record of what the remote holds (`gitexp.storage.known`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gitexp.core.remotes import RemoteConfig
from gitexp.errors import ConfigError
from gitexp.storage.backend import Backend
from gitexp.storage.clouds import AZ, GS, S3
from gitexp.storage.hosts import HTTP, LOCAL, MEMORY, SSH
from gitexp.storage.hosts import local_folder as local_folder
from gitexp.storage.known import KnownBackend, KnownObjects
from gitexp.storage.retry import RetryingBackend
from gitexp.storage.scheme import Scheme

SCHEMES: Mapping[str, Scheme] = {
    "file": LOCAL,
    "memory": MEMORY,
    "s3": S3,
    "gs": GS,
    "az": AZ,
    "ssh": SSH,
    "sftp": SSH,
    "http": HTTP,
    "https": HTTP,
}
"""The builder of each URL scheme gitexp opens."""
DEFAULT_ATTEMPTS = 3


def open_backend(
    remote: RemoteConfig,
    root: Path,
    env: Mapping[str, str] | None = None,
    *,
    records: Path | None = None,
) -> Backend:
    """The backend for ``remote``, wrapped in bounded retries.

    A path (or ``file://``) is relative to ``root``, the repository root. ``env`` is
    the environment the caller was given (only the CLI reads it): each scheme takes
    its own variables from it. With ``records``, the backend keeps the record of what
    the remote holds in that folder (saved when it is closed). Raises `StorageError`
    for a missing extra, `ConfigError` for a URL it cannot use.
    """
    scheme = SCHEMES.get(remote.scheme)
    if scheme is None:
        raise ConfigError(f"remote '{remote.name}': gitexp cannot open {remote.scheme}:// URLs")
    env = env or {}
    backend = scheme.open(remote, root, env)
    options = scheme.settings(remote, env)
    attempts = int(options.get("retries", DEFAULT_ATTEMPTS - 1)) + 1
    wrapped: Backend = RetryingBackend(backend, attempts=attempts, backoff=0.5)
    if options.get("jobs"):
        wrapped.default_jobs = max(1, int(options["jobs"]))
    if records is not None:
        wrapped = KnownBackend(wrapped, KnownObjects.load(records, wrapped.identity()))
    return wrapped


def environment_variables() -> list[str]:
    """Every environment variable some scheme reads, for documentation and messages."""
    return sorted({v for scheme in SCHEMES.values() for v in scheme.environment.values()})
