"""The local object store: write-once files named by the BLAKE3 hash of their bytes.

Layout: ``<cache>/blake3/<first 2 hex>/<other 62 hex>`` (the same on every remote).
Objects are written to a temporary file inside the cache, hashed in the same pass
as they are copied, made read-only and renamed into place, so a crash never leaves a
partial object under an object's name. Storing what is already there is a no-op.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from gitexp.core.hashing import CHUNK, Hasher, Oid, hash_bytes
from gitexp.errors import IntegrityError, NotFoundError

TMP_DIR = "tmp"


class ObjectStore:
    """A cache folder of content-addressed objects."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, oid: Oid) -> Path:
        """Where ``oid`` lives (whether or not it is there)."""
        return self.root / oid.relpath

    def has(self, oid: Oid) -> bool:
        """Whether the object is in the cache (its bytes are not checked)."""
        return self.path(oid).is_file()

    def put_bytes(self, data: bytes) -> Oid:
        """Store ``data``; idempotent."""
        oid = hash_bytes(data)
        if not self.has(oid):
            fd, tmp = self._tmpfile()
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            self._install(tmp, oid)
        return oid

    def put_file(self, src: str | os.PathLike[str]) -> tuple[Oid, int]:
        """Store a file's bytes, hashing while copying (read once); returns oid and size.

        Memory stays at one chunk whatever the file's size. Raises `FileNotFoundError`
        (or another `OSError`) if the file goes away while it is read; then nothing is
        left in the cache.
        """
        fd, tmp = self._tmpfile()
        hasher = Hasher()
        try:
            with open(src, "rb") as source, os.fdopen(fd, "wb") as handle:
                while chunk := source.read(CHUNK):
                    hasher.update(chunk)
                    handle.write(chunk)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        self._install(tmp, hasher.oid)
        return hasher.oid, hasher.size

    def read_bytes(self, oid: Oid) -> bytes:
        """The object's bytes, checked against its hash (`IntegrityError` if they differ)."""
        try:
            data = self.path(oid).read_bytes()
        except FileNotFoundError as exc:
            raise NotFoundError(
                f"object {oid} is not in the cache", hint="run `gitexp pull` to fetch it"
            ) from exc
        if hash_bytes(data) != oid:
            raise IntegrityError(
                f"cache object {oid} is corrupt (its bytes hash differently)",
                hint="run `gitexp fsck` to move it aside, then `gitexp pull` to fetch it again",
            )
        return data

    def _tmpfile(self) -> tuple[int, str]:
        folder = self.root / TMP_DIR
        folder.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix="obj-", dir=folder)

    def _install(self, tmp: str, oid: Oid) -> None:
        """Move a finished temporary file to its object path, read-only; drop duplicates."""
        final = self.path(oid)
        if final.is_file():
            os.unlink(tmp)
            return
        os.chmod(tmp, 0o444)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
