"""Builders of object-store remotes: S3 (``s3://``), Google Cloud Storage (``gs://``), Azure Blob (``az://``).

Each is a `gitexp.storage.scheme.Scheme`: the options it reads, and the environment
variables that supply an option the remote's settings leave unset.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from gitexp.core.remotes import Option, RemoteConfig, redact_url
from gitexp.storage.backend import Backend
from gitexp.storage.scheme import (
    Scheme,
    bucket_path,
    flag,
    fsspec_backend,
    identity,
    require,
    secrets_of,
    timeout_of,
)

MAX_CONNECTIONS = 64
"""Connections an S3 client may keep open: at least as many as requests run at once."""
S3_PART_SIZE = 16 << 20
S3_PART_REQUESTS = 4
"""A big object moves to and from S3 in parts of this size, this many at once. s3fs's
own choice (50 MiB, ten at once) holds 500 MiB or more in memory for each big object;
against an S3 server on loopback these parts moved a 1 GiB file as fast up (7-10 s
either way, the server's pace) and faster down (2.1-2.3 s against 3.9-4.7 s), with a
peak of 0.27 GiB against 1.4."""
SIGNED_BODIES = "sign_payload"
"""The S3 option that makes every request body part of its signature again (see `_s3_bodies`)."""


def _s3(remote: RemoteConfig, options: Mapping[str, Option], _root: Path) -> Backend:
    s3fs = require("s3fs", "s3", "s3")
    timeout = timeout_of(options)
    client: dict[str, Any] = {}
    if options.get("region"):
        client["region_name"] = str(options["region"])
    fs = s3fs.S3FileSystem(
        key=options.get("key"),
        secret=options.get("secret"),
        token=options.get("token"),
        anon=flag(options.get("anon")),
        profile=options.get("profile"),
        endpoint_url=options.get("endpoint_url"),
        client_kwargs=client,
        config_kwargs={
            "connect_timeout": min(timeout, 5.0),
            "read_timeout": timeout,
            "retries": {"max_attempts": 1, "mode": "standard"},
            "max_pool_connections": MAX_CONNECTIONS,
            **_s3_bodies(options),
        },
        skip_instance_cache=True,
        use_listings_cache=False,
        asynchronous=False,
        max_concurrency=S3_PART_REQUESTS,
    )
    fs.retries = 1
    checksum = _crc32c_header() if _s3_bodies(options) else None
    return _bucket(
        fs,
        remote,
        options,
        timeout,
        ("s3", options.get("endpoint_url")),
        part_options={"chunksize": S3_PART_SIZE},
        body_checksum=checksum,
        put_whole=_s3_put_whole(fs, checksum),
    )


def _s3_bodies(options: Mapping[str, Option]) -> dict[str, Any]:
    """How S3 request bodies are checked: a CRC32 the server verifies, not a signed SHA-256.

    Over plain http the S3 client signs a SHA-256 of every body it sends (over https
    it already sends the body unsigned, with a CRC32 in a signed header): about a
    second of CPU per GiB pushed, in the client, on every upload. The CRC32 header
    catches a body damaged on the way (the server refuses it), and gitexp checks the
    BLAKE3 of every object it reads back, so the SHA-256 protects nothing more but a
    body that someone on the network path rewrites, and the CRC32 with it, on an
    unencrypted connection (where they can read it all too). ``sign_payload: true``
    signs bodies again. A client too old to send CRC32 headers keeps signing.
    """
    if flag(options.get(SIGNED_BODIES)):
        return {}
    config = require("botocore.config", "s3", "s3").Config  # s3fs's own client library
    if "request_checksum_calculation" not in getattr(config, "OPTION_DEFAULTS", {}):
        return {}
    return {
        "s3": {"payload_signing_enabled": False},
        "request_checksum_calculation": "when_supported",
    }


WHOLE_BODY_LIMIT = 64 << 20
"""Bodies up to this size go up in one request (s3fs's threshold is higher): `_crc32c_header`."""


def _crc32c_header() -> Callable[[bytes], Mapping[str, str]] | None:
    """The CRC32C of an unsigned S3 body, computed here in hardware; None without the library.

    The S3 client's own body checksum is a CRC32 in software over the body read back
    in 1 MiB pieces; ``google_crc32c`` uses the CRC32C instruction on the body as it
    is. Measured against an S3 server on loopback, 64 uploads of 16 MiB (a GiB of
    packs) took 1.35 s of the client's CPU against 1.48 s (median of five rounds).
    The server checks it as it checks the CRC32 (a body damaged on the way is
    refused), and the client, given a checksum, computes none of its own.
    A body of more than `WHOLE_BODY_LIMIT` bytes is left to the client: s3fs may send
    it in parts, which one checksum of the whole does not describe.
    """
    try:
        import google_crc32c
    except ImportError:
        return None
    if google_crc32c.implementation != "c":  # the pure-Python fallback is slower than zlib
        return None
    value = google_crc32c.value

    def header(data: bytes) -> Mapping[str, str]:
        if len(data) > WHOLE_BODY_LIMIT:
            return {}
        return {"ChecksumCRC32C": base64.b64encode(value(data).to_bytes(4, "big")).decode()}

    return header


def _s3_put_whole(
    fs: Any, checksum: Callable[[bytes], Mapping[str, str]] | None
) -> Callable[[str, bytes | memoryview, float], None]:
    """Upload a body in one PutObject, copied once (a pack of chunks is a view of a file).

    s3fs wants bytes, which the S3 client wraps in a stream whose buffer the HTTP
    client then copies again (the bytes are shared): two fresh 16 MiB buffers per
    pack. A stream made from the view owns its one copy, and the checksum is taken
    over that copy's bytes (not a copy again) and let go before the upload, so the
    HTTP client sends from it as it is. Measured against an S3 server on loopback,
    a GiB of 16 MiB packs took 1.23-1.47 s of the client's CPU against 1.57-1.78 s
    (nine rounds). A body of more than `WHOLE_BODY_LIMIT` bytes goes through s3fs.
    """
    import io

    def put(path: str, data: bytes | memoryview, timeout: float) -> None:
        if len(data) > WHOLE_BODY_LIMIT:
            fs.pipe_file(path, bytes(data), timeout=timeout)
            return
        body = io.BytesIO(data)
        extra: Mapping[str, str] = {}
        if checksum is not None:
            whole = body.getvalue()  # the stream's own bytes, shared while held
            extra = checksum(whole)
            del whole
        bucket, key, _version = fs.split_path(path)
        fs.call_s3("put_object", Bucket=bucket, Key=key, Body=body, timeout=timeout, **extra)
        fs.invalidate_cache(path)

    return put


def _gs(remote: RemoteConfig, options: Mapping[str, Option], _root: Path) -> Backend:
    core = require("gcsfs.core", "gs", "gs")
    timeout = timeout_of(options)
    token: Any = "anon" if flag(options.get("anon")) else options.get("token")
    fs = core.GCSFileSystem(
        project=str(options.get("project", "gitexp")),
        token=token,
        endpoint_url=options.get("endpoint_url"),
        requests_timeout=timeout,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    fs.retries = 1
    return _bucket(fs, remote, options, timeout, ("gs", options.get("endpoint_url")))


_AZURE_CREDENTIALS = ("account_name", "account_key", "connection_string", "sas_token")


def _az(remote: RemoteConfig, options: Mapping[str, Option], _root: Path) -> Backend:
    adlfs = require("adlfs", "azure", "az")
    timeout = timeout_of(options)
    kwargs: dict[str, Any] = {k: options[k] for k in _AZURE_CREDENTIALS if options.get(k)}
    fs = adlfs.AzureBlobFileSystem(
        anon=flag(options.get("anon")) if "anon" in options else None,
        skip_instance_cache=True,
        retry_total=0,
        connection_timeout=min(timeout, 5.0),
        read_timeout=timeout,
        **kwargs,
    )
    return _bucket(
        fs, remote, options, timeout, ("az", _azure_account(options)), container="container"
    )


def _bucket(
    fs: Any,
    remote: RemoteConfig,
    options: Mapping[str, Option],
    timeout: float,
    where: tuple[str, Option | None],
    **extra: Any,
) -> Backend:
    """The backend over ``fs`` at the remote's bucket path.

    ``where`` is the scheme and the endpoint or account that, with the path, tells one
    store from another.
    """
    scheme, endpoint = where
    path = bucket_path(remote)
    return fsspec_backend(
        fs,
        path,
        redact_url(remote.url),
        secrets=secrets_of(remote, options),
        timeout=timeout,
        identity=identity(scheme, path, endpoint),
        **extra,
    )


def _azure_account(options: Mapping[str, Option]) -> str | None:
    """The storage account (or blob endpoint) that a container lives in."""
    text = str(options.get("connection_string") or "")
    fields = dict(p.split("=", 1) for p in text.split(";") if "=" in p)
    found = fields.get("BlobEndpoint") or fields.get("AccountName") or options.get("account_name")
    return str(found) if found else None


S3 = Scheme(
    _s3,
    options=frozenset(
        {"key", "secret", "token", "endpoint_url", "region", "profile", "anon", SIGNED_BODIES}
    ),
    environment={
        "key": "AWS_ACCESS_KEY_ID",
        "secret": "AWS_SECRET_ACCESS_KEY",
        "token": "AWS_SESSION_TOKEN",
        "endpoint_url": "AWS_ENDPOINT_URL",
        "region": "AWS_DEFAULT_REGION",
        "profile": "AWS_PROFILE",
    },
    package="s3fs",
    extra="s3",
)
GS = Scheme(
    _gs,
    options=frozenset({"token", "project", "endpoint_url", "anon"}),
    environment={"token": "GOOGLE_APPLICATION_CREDENTIALS", "project": "GOOGLE_CLOUD_PROJECT"},
    package="gcsfs",
    extra="gs",
)
AZ = Scheme(
    _az,
    options=frozenset({*_AZURE_CREDENTIALS, "anon"}),
    environment={
        "connection_string": "AZURE_STORAGE_CONNECTION_STRING",
        "account_name": "AZURE_STORAGE_ACCOUNT_NAME",
        "account_key": "AZURE_STORAGE_ACCOUNT_KEY",
        "sas_token": "AZURE_STORAGE_SAS_TOKEN",
    },
    package="adlfs",
    extra="azure",
)
