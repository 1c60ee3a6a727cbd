"""Object ids: BLAKE3 hashes written ``blake3:<64 hex>``, computed while streaming."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gitexp.errors import FormatError

ALGORITHM = "blake3"
HEX_LENGTH = 64
CHUNK = 1 << 20
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True, order=True)
class Oid:
    """A content hash; ``str(oid)`` is ``blake3:<hex>``, ``oid.hex`` the bare digest."""

    hex: str

    def __str__(self) -> str:
        return f"{ALGORITHM}:{self.hex}"

    @property
    def relpath(self) -> str:
        """Where the object lives in the cache and on every remote: ``blake3/ab/cdef…``."""
        return f"{ALGORITHM}/{self.hex[:2]}/{self.hex[2:]}"


def parse_oid(text: object, where: str = "hash") -> Oid:
    """Read ``blake3:<64 lowercase hex>``; `FormatError` says what is wrong and where."""
    if not isinstance(text, str) or ":" not in text:
        raise FormatError(f"{where}: {text!r} is not a hash written ALGORITHM:HEX")
    algorithm, _, digest = text.partition(":")
    if algorithm != ALGORITHM:
        raise FormatError(
            f"{where}: unknown hash algorithm '{algorithm}'", hint="gitexp uses blake3"
        )
    if len(digest) != HEX_LENGTH:
        raise FormatError(
            f"{where}: a blake3 hash has {HEX_LENGTH} hex digits, this one has {len(digest)}"
        )
    if not _HEX.fullmatch(digest):
        raise FormatError(f"{where}: the hash has characters that are not lowercase hex")
    return Oid(digest)


def oid_from_relpath(relpath: str) -> Oid | None:
    """The oid a cache or remote path names (``blake3/ab/cdef…``), None for other paths."""
    parts = relpath.replace("\\", "/").split("/")
    if len(parts) != 3 or parts[0] != ALGORITHM:
        return None
    digest = parts[1] + parts[2]
    return Oid(digest) if len(parts[1]) == 2 and _HEX.fullmatch(digest) else None


class Hasher:
    """Streaming BLAKE3: feed chunks with `update`, read the `oid` at the end."""

    def __init__(self) -> None:
        from blake3 import blake3

        self._hash = blake3(max_threads=1)
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        """Feed the next bytes."""
        self._hash.update(chunk)
        self.size += len(chunk)

    @property
    def oid(self) -> Oid:
        """The oid of everything fed so far."""
        return Oid(self._hash.hexdigest())


def hash_bytes(data: bytes) -> Oid:
    """The oid of ``data``.

    >>> str(hash_bytes(b""))[:20]
    'blake3:af1349b9f5f9a'
    """
    hasher = Hasher()
    hasher.update(data)
    return hasher.oid


def hash_chunks(chunks: Iterable[bytes]) -> Oid:
    """The oid of the concatenation of ``chunks``; the same whatever the chunking."""
    hasher = Hasher()
    for chunk in chunks:
        hasher.update(chunk)
    return hasher.oid
