"""What opening a storage remote of one URL scheme takes: its package, options and variables.

Each scheme's builder (`gitexp.storage.clouds`, `gitexp.storage.hosts`) is a `Scheme`:
it names the package it needs (imported only when a remote of its kind is opened),
the options it reads and, for each option that may come from the environment, the
variable that supplies it. Only the CLI reads the environment; it hands the whole
mapping down, and each scheme picks its own variables from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from gitexp.core.remotes import Option, RemoteConfig, redact_url
from gitexp.errors import ConfigError, StorageError
from gitexp.storage.backend import Backend

DEFAULT_TIMEOUT = 60.0
COMMON_OPTIONS = frozenset({"timeout", "retries", "jobs"})
"""Options every scheme takes: they shape the calls, not the connection."""
Build = Callable[[RemoteConfig, Mapping[str, Option], Path], Backend]
"""A builder: the remote, its options (environment merged in), the repository root."""


@dataclass(frozen=True, slots=True)
class Scheme:
    """How remotes of one kind are opened (see the module docstring).

    ``environment`` maps an option to the variable that supplies it when the remote's
    settings leave it unset; ``package``/``extra`` name what must be installed.
    """

    build: Build
    options: frozenset[str] = frozenset()
    environment: Mapping[str, str] = field(default_factory=dict)
    package: str | None = None
    extra: str | None = None

    def settings(self, remote: RemoteConfig, env: Mapping[str, str]) -> dict[str, Option]:
        """The remote's options, each unset one taken from its variable in ``env``."""
        options: dict[str, Option] = dict(remote.options)
        for option, variable in self.environment.items():
            if option not in options and env.get(variable):
                options[option] = env[variable]
        return options

    def open(self, remote: RemoteConfig, root: Path, env: Mapping[str, str]) -> Backend:
        """The bare backend (no wrappers); `StorageError` naming the install when missing."""
        if self.package is not None:
            require(self.package, self.extra or self.package, remote.scheme)
        return self.build(remote, self.settings(remote, env), root)


def require(package: str, extra: str, scheme: str) -> ModuleType:
    """Import ``package``; a `StorageError` naming the ``pip install`` when it is missing."""
    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise StorageError(
            f"{scheme}:// remotes need the package '{package.split('.')[0]}', "
            "which is not installed",
            hint=f"install it with: pip install 'gitexp[{extra}]'",
        ) from exc


def fsspec_backend(*args: Any, **kwargs: Any) -> Backend:
    """A `gitexp.storage.fs.FsspecBackend` (imported here: local remotes never need it)."""
    from gitexp.storage.fs import FsspecBackend

    return FsspecBackend(*args, **kwargs)


def timeout_of(options: Mapping[str, Option]) -> float:
    """The ``timeout`` option in seconds; `ConfigError` when it is not a number."""
    value = options.get("timeout", DEFAULT_TIMEOUT)
    wrong = ConfigError(f"remote option 'timeout' must be a number of seconds, not {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise wrong
    try:
        return float(value)
    except ValueError:
        raise wrong from None


def bucket_path(remote: RemoteConfig) -> str:
    """``bucket/prefix`` of a cloud URL; `ConfigError` when it names no bucket."""
    parts = urlsplit(remote.url)
    if not parts.netloc:
        raise ConfigError(f"remote '{remote.name}': {redact_url(remote.url)} names no bucket")
    return f"{parts.netloc}{parts.path}".rstrip("/")


def secrets_of(remote: RemoteConfig, options: Mapping[str, Option]) -> list[str]:
    """Every secret value, from the settings or the environment, to scrub from messages."""
    return remote.secrets() + RemoteConfig(remote.name, remote.url, options).secrets()


def flag(value: Option | None) -> bool:
    """An option read as yes or no."""
    return value is True or str(value).lower() in ("1", "true", "yes")


def identity(scheme: str, where: str, endpoint: Option | None) -> str:
    """A bucket's identity: its path and the service that holds it (no secret in it)."""
    return f"{scheme}://{where} at {endpoint or 'the default endpoint'}"
