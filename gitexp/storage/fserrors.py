"""fsspec's, the network's and the services' errors, as gitexp's storage errors.

Each storage service words its failures its own way; this module reads them into
the few cases a user or the retry wrapper handles differently: not found, a missing
bucket or container, refused access, worth another try, failed.
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence

from gitexp.core.remotes import scrub
from gitexp.errors import NotFoundError, StorageError
from gitexp.storage.backend import Failure, TransientError

_TRANSIENT_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.EPIPE,
    errno.EIO,
    errno.EREMOTEIO,  # s3fs's word for a 500 InternalError ("please try again")
    errno.EBUSY,  # s3fs's word for a 503 SlowDown
}


def translate(
    exc: Exception,
    action: str,
    key: str,
    *,
    url: str,
    secrets: Sequence[str],
    container: str,
    container_exists: Callable[[], bool],
) -> Failure:
    """The error to raise for ``exc``, met doing ``action`` on ``key`` at remote ``url``.

    ``secrets`` are scrubbed from the reason; ``container_exists`` is asked only when
    a download finds nothing, to tell a missing object from a missing bucket.
    """
    reason = scrub(_reason(exc), secrets)
    where = f"storage remote {url}"
    if isinstance(exc, FileNotFoundError) and action in ("download", "check", "delete"):
        if action == "download" and not container_exists():
            return _missing_container(where, container)
        return NotFoundError(f"{key} is not on {where}")
    if isinstance(exc, FileNotFoundError):
        return _missing_container(where, container)
    if isinstance(exc, PermissionError) or _says(
        reason,
        "denied",
        "forbidden",
        "invalidaccesskey",
        "signature",
        "authoriz",
        "authentic",
        "credential",
    ):
        return StorageError(
            f"{where} refused access ({action} {key}): {reason}",
            hint="check the credentials: the local config (`gitexp remote modify --local`) "
            "or the environment",
        )
    if _is_transient(exc):
        return TransientError(f"{where} did not answer ({action} {key}): {reason}")
    return StorageError(f"{where} failed ({action} {key}): {reason}")


def _missing_container(where: str, container: str) -> StorageError:
    return StorageError(
        f"{where} does not exist: its {container} is missing",
        hint=f"create the {container}, or fix the remote's URL (`gitexp remote list`)",
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _says(text: str, *words: str) -> bool:
    lower = text.lower().replace(" ", "")
    return any(w in lower for w in words)


def _is_transient(exc: BaseException) -> bool:
    """Connection refused or reset, timeouts, and 5xx answers: worth another try."""
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {
        "TimeoutError",
        "FSTimeoutError",
        "ConnectionError",
        "ClientConnectionError",
        "ServerDisconnectedError",
        "EndpointConnectionError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ServiceRequestError",
        "ServiceResponseError",
        "ConnectionLost",
        "DisconnectError",
        "ChannelOpenError",
        "IncompleteRead",
    }:
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    text = str(exc).lower()
    return any(
        s in text
        for s in (
            "connection refused",
            "cannot connect",
            "timed out",
            "503",
            "502",
            "500 internal",
            "internal error",
            "please try again",
            "slow down",
        )
    )
