"""Opening a storage remote from its settings: the backend for each URL scheme.

Heavy libraries (s3fs, gcsfs, adlfs, sshfs, aiohttp) are imported only here, when a
remote of their scheme is opened; a missing one is a `StorageError` naming the
``pip install`` to run. Credentials come from the remote's options (the local config)
or from the environment variables the caller read (see `ENVIRONMENT`).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from gitexp.core.remotes import Option, RemoteConfig, redact_url
from gitexp.errors import ConfigError, StorageError
from gitexp.storage.backend import Backend
from gitexp.storage.local import LocalBackend
from gitexp.storage.memory import MemoryBackend
from gitexp.storage.retry import RetryingBackend

ENVIRONMENT: Mapping[str, Mapping[str, str]] = {
    "s3": {
        "key": "AWS_ACCESS_KEY_ID",
        "secret": "AWS_SECRET_ACCESS_KEY",
        "token": "AWS_SESSION_TOKEN",
        "endpoint_url": "AWS_ENDPOINT_URL",
        "region": "AWS_DEFAULT_REGION",
        "profile": "AWS_PROFILE",
    },
    "gs": {"token": "GOOGLE_APPLICATION_CREDENTIALS", "project": "GOOGLE_CLOUD_PROJECT"},
    "az": {
        "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
        "account_name": "AZURE_STORAGE_ACCOUNT_NAME",
        "account_key": "AZURE_STORAGE_ACCOUNT_KEY",
        "sas_token": "AZURE_STORAGE_SAS_TOKEN",
    },
}
"""Per scheme: option → the environment variable that supplies it when the option is unset."""

ENVIRONMENT_VARIABLES = sorted({v for opts in ENVIRONMENT.values() for v in opts.values()})
_EXTRAS = {
    "s3": "s3",
    "gs": "gs",
    "az": "azure",
    "ssh": "ssh",
    "sftp": "ssh",
    "http": "http",
    "https": "http",
}
_MODULES = {
    "s3": "s3fs",
    "gs": "gcsfs",
    "az": "adlfs",
    "ssh": "sshfs",
    "sftp": "sshfs",
    "http": "aiohttp",
    "https": "aiohttp",
}
_MEMORY: dict[str, MemoryBackend] = {}
_MEMORY_LOCK = threading.Lock()
DEFAULT_TIMEOUT = 60.0
DEFAULT_ATTEMPTS = 3
MAX_CONNECTIONS = 64
"""Connections an S3 client may keep open: at least as many as requests run at once."""
S3_PART_SIZE = 16 << 20
S3_PART_REQUESTS = 4
"""A big object moves to and from S3 in parts of this size, this many at once. s3fs's
own choice (50 MiB, ten at once) holds 500 MiB or more in memory for each big object;
against an S3 server on loopback these parts moved a 1 GiB file as fast up (7-10 s
either way, the server's pace) and faster down (2.1-2.3 s against 3.9-4.7 s), with a
peak of 0.27 GiB against 1.4."""


def open_backend(remote: RemoteConfig, root: Path, env: Mapping[str, str] | None = None) -> Backend:
    """The backend for ``remote``, wrapped in bounded retries.

    A path (or ``file://``) is relative to ``root``, the repository root. Raises
    `StorageError` for a missing extra, `ConfigError` for a URL it cannot use.
    """
    scheme = remote.scheme
    options: dict[str, Option] = dict(remote.options)
    for option, variable in ENVIRONMENT.get(scheme, {}).items():
        if option not in options and env and env.get(variable):
            options[option] = env[variable]
    if scheme == "file":
        backend: Backend = _local(remote.url, root)
    elif scheme == "memory":
        with _MEMORY_LOCK:
            backend = _MEMORY.setdefault(remote.url, MemoryBackend(remote.url))
    else:
        backend = _OPENERS[scheme](remote, options)
    attempts = int(options.get("retries", DEFAULT_ATTEMPTS - 1)) + 1
    wrapped = RetryingBackend(backend, attempts=attempts, backoff=0.5)
    if options.get("jobs"):
        wrapped.default_jobs = max(1, int(options["jobs"]))
    return wrapped


def _fsspec(*args: Any, **kwargs: Any) -> Backend:
    """A `gitexp.storage.fs.FsspecBackend` (imported here: local remotes never need it)."""
    from gitexp.storage.fs import FsspecBackend

    return FsspecBackend(*args, **kwargs)


def local_folder(url: str, root: Path) -> Path:
    """The folder of a path or ``file://`` remote; a relative path is from ``root``."""
    path = unquote(urlsplit(url).path) if url.startswith("file://") else url
    folder = Path(path).expanduser()
    return folder if folder.is_absolute() else root / folder


def _local(url: str, root: Path) -> LocalBackend:
    return LocalBackend(local_folder(url, root), url)


def _module(scheme: str, name: str) -> Any:
    module = _MODULES[scheme]
    try:
        importlib.import_module(module)
        return importlib.import_module(name)
    except ImportError as exc:
        raise StorageError(
            f"{scheme}:// remotes need the package '{module}', which is not installed",
            hint=f"install it with: pip install 'gitexp[{_EXTRAS[scheme]}]'",
        ) from exc


def _timeout(options: Mapping[str, Option]) -> float:
    value = options.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"remote option 'timeout' must be a number of seconds, not {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ConfigError(
            f"remote option 'timeout' must be a number of seconds, not {value!r}"
        ) from None


def _bucket_path(remote: RemoteConfig) -> str:
    parts = urlsplit(remote.url)
    if not parts.netloc:
        raise ConfigError(f"remote '{remote.name}': {redact_url(remote.url)} names no bucket")
    return f"{parts.netloc}{parts.path}".rstrip("/")


def _secrets(remote: RemoteConfig, options: Mapping[str, Option]) -> list[str]:
    return remote.secrets() + RemoteConfig(remote.name, remote.url, options).secrets()


def _flag(value: Option | None) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes")


def _s3(remote: RemoteConfig, options: Mapping[str, Option]) -> Backend:
    s3fs = _module("s3", "s3fs")
    timeout = _timeout(options)
    client: dict[str, Any] = {}
    if options.get("region"):
        client["region_name"] = str(options["region"])
    fs = s3fs.S3FileSystem(
        key=options.get("key"),
        secret=options.get("secret"),
        token=options.get("token"),
        anon=_flag(options.get("anon")),
        profile=options.get("profile"),
        endpoint_url=options.get("endpoint_url"),
        client_kwargs=client,
        config_kwargs={
            "connect_timeout": min(timeout, 5.0),
            "read_timeout": timeout,
            "retries": {"max_attempts": 1, "mode": "standard"},
            "max_pool_connections": MAX_CONNECTIONS,
        },
        skip_instance_cache=True,
        use_listings_cache=False,
        asynchronous=False,
        max_concurrency=S3_PART_REQUESTS,
    )
    fs.retries = 1
    return _fsspec(
        fs,
        _bucket_path(remote),
        redact_url(remote.url),
        secrets=_secrets(remote, options),
        timeout=timeout,
        identity=_identity("s3", _bucket_path(remote), options.get("endpoint_url")),
        part_options={"chunksize": S3_PART_SIZE},
    )


def _identity(scheme: str, where: str, endpoint: Option | None) -> str:
    """A bucket's identity: its path and the service that holds it (no secret in it)."""
    return f"{scheme}://{where} at {endpoint or 'the default endpoint'}"


def _gs(remote: RemoteConfig, options: Mapping[str, Option]) -> Backend:
    core = _module("gs", "gcsfs.core")
    timeout = _timeout(options)
    token: Any = "anon" if _flag(options.get("anon")) else options.get("token")
    fs = core.GCSFileSystem(
        project=str(options.get("project", "gitexp")),
        token=token,
        endpoint_url=options.get("endpoint_url"),
        requests_timeout=timeout,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.retries = 1
    return _fsspec(
        fs,
        _bucket_path(remote),
        redact_url(remote.url),
        secrets=_secrets(remote, options),
        timeout=timeout,
        identity=_identity("gs", _bucket_path(remote), options.get("endpoint_url")),
    )


def _az(remote: RemoteConfig, options: Mapping[str, Option]) -> Backend:
    adlfs = _module("az", "adlfs")
    timeout = _timeout(options)
    kwargs: dict[str, Any] = {
        k: options[k]
        for k in ("account_name", "account_key", "connection_string", "sas_token")
        if options.get(k)
    }
    fs = adlfs.AzureBlobFileSystem(
        anon=_flag(options.get("anon")) if "anon" in options else None,
        skip_instance_cache=True,
        retry_total=0,
        connection_timeout=min(timeout, 5.0),
        read_timeout=timeout,
        **kwargs,
    )
    return _fsspec(
        fs,
        _bucket_path(remote),
        redact_url(remote.url),
        secrets=_secrets(remote, options),
        timeout=timeout,
        container="container",
        identity=_identity("az", _bucket_path(remote), _azure_account(options)),
    )


def _azure_account(options: Mapping[str, Option]) -> str | None:
    """The storage account (or blob endpoint) that a container lives in."""
    text = str(options.get("connection_string") or "")
    fields = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    found = fields.get("BlobEndpoint") or fields.get("AccountName") or options.get("account_name")
    return str(found) if found else None


def _ssh(remote: RemoteConfig, options: Mapping[str, Option]) -> Backend:
    sshfs = _module("ssh", "sshfs")
    parts = urlsplit(remote.url)
    if not parts.hostname:
        raise ConfigError(f"remote '{remote.name}': {redact_url(remote.url)} names no host")
    kwargs: dict[str, Any] = {"timeout": min(_timeout(options), 10.0)}
    username = options.get("username") or parts.username
    if username:
        kwargs["username"] = str(username)
    password = options.get("password") or parts.password
    if password:
        kwargs["password"] = str(password)
    if options.get("key_file"):
        kwargs["client_keys"] = [str(Path(str(options["key_file"])).expanduser())]
    if options.get("known_hosts"):
        kwargs["known_hosts"] = str(Path(str(options["known_hosts"])).expanduser())
    elif "host_key_check" in options and not _flag(options["host_key_check"]):
        kwargs["known_hosts"] = None
    port = options.get("port") or parts.port or 22
    try:
        fs = sshfs.SSHFileSystem(parts.hostname, port=int(port), skip_instance_cache=True, **kwargs)
    except Exception as exc:
        from gitexp.storage.fs import FsspecBackend

        probe = FsspecBackend(None, "", redact_url(remote.url), secrets=_secrets(remote, options))
        raise probe._translate(exc, "connect", parts.hostname) from exc
    return _fsspec(
        fs,
        unquote(parts.path),
        redact_url(remote.url),
        atomic_put=False,
        secrets=_secrets(remote, options),
        timeout=_timeout(options),
        container="folder",
        identity=f"ssh://{username or ''}@{parts.hostname}:{port}{unquote(parts.path)}",
    )


def _http(remote: RemoteConfig, options: Mapping[str, Option]) -> Backend:
    http = _module(remote.scheme, "fsspec.implementations.http")
    timeout = _timeout(options)
    fs = http.HTTPFileSystem(skip_instance_cache=True, block_size=0)
    return _fsspec(
        fs,
        remote.url.rstrip("/"),
        redact_url(remote.url),
        read_only=True,
        secrets=_secrets(remote, options),
        timeout=timeout,
        container="site",
    )


_OPENERS: dict[str, Callable[[RemoteConfig, Mapping[str, Option]], Backend]] = {
    "s3": _s3,
    "gs": _gs,
    "az": _az,
    "ssh": _ssh,
    "sftp": _ssh,
    "http": _http,
    "https": _http,
}
