"""What a storage remote is known to hold, remembered between transfers (format version 1).

A push that finds every object it needs in this record asks the remote nothing but a
few spot checks, so a second push with nothing new costs no listing at all. The
record is a hint about the remote, never proof about data: it only ever spares an
upload, and every object a pull downloads is still hashed before it is used.

It can go stale when objects vanish from the remote behind gitexp's back (a bucket
emptied, a folder deleted). Spot checks catch that: the push asks the remote about a
random sample of the objects the record vouches for (and about every directory
manifest among them, which a push uploads only after the files it lists) and, if one
is missing, forgets the whole record and asks the remote about everything. A pull
that finds an object missing drops it from the record too.

One file per remote, ``<folder>/<sha256 of the remote's identity>.v1``: a header line
then one object hex per line. A file that is damaged, or of another version, is read
as empty (the next push lists the remote, as if there were no record). Writes are
atomic (temporary file, then rename); two pushes at once may lose each other's
additions, which costs only a listing later.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from gitexp.core.hashing import ALGORITHM, Oid

VERSION = 1
_HEADER = f"gitexp remote objects {VERSION} {ALGORITHM}\n"


class KnownObjects:
    """The objects one storage remote is known to hold (see the module docstring)."""

    def __init__(self, path: Path | None, hexes: set[str] | None = None) -> None:
        self.path = path
        self._hexes = hexes if hexes is not None else set()
        self._changed = False

    @classmethod
    def load(cls, folder: Path, identity: str) -> KnownObjects:
        """The record of the remote with this identity (empty if there is none yet)."""
        name = hashlib.sha256(identity.encode()).hexdigest()[:40]
        path = folder / f"{name}.v{VERSION}"
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError):
            return cls(path)
        if not text.startswith(_HEADER) or not text.endswith("\n"):
            return cls(path)
        hexes = set(text[len(_HEADER) :].split())
        if any(len(h) != 64 for h in hexes):
            return cls(path)
        return cls(path, hexes)

    @classmethod
    def nowhere(cls) -> KnownObjects:
        """An empty record that is never saved (a remote whose records are not kept)."""
        return cls(None)

    def __len__(self) -> int:
        return len(self._hexes)

    def __contains__(self, oid: Oid) -> bool:
        return oid.hex in self._hexes

    def unknown(self, oids: Iterable[Oid]) -> set[Oid]:
        """Those of ``oids`` this record does not vouch for."""
        hexes = self._hexes
        return {oid for oid in oids if oid.hex not in hexes}

    def add(self, oids: Iterable[Oid]) -> None:
        """Note that the remote holds these objects (seen there, or just stored)."""
        before = len(self._hexes)
        self._hexes.update(oid.hex for oid in oids)
        self._changed |= len(self._hexes) != before

    def discard(self, oids: Iterable[Oid]) -> None:
        """Note that the remote lacks these objects."""
        before = len(self._hexes)
        self._hexes.difference_update(oid.hex for oid in oids)
        self._changed |= len(self._hexes) != before

    def clear(self) -> None:
        """Forget everything: the record turned out to be stale."""
        self._changed |= bool(self._hexes)
        self._hexes = set()

    def save(self) -> None:
        """Write the record if it changed (atomic; failures to write are ignored)."""
        if self.path is None or not self._changed:
            return
        body = _HEADER + "".join(f"{h}\n" for h in sorted(self._hexes))
        folder = self.path.parent
        tmp = folder / f".tmp-{os.getpid()}-{self.path.name}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(body, encoding="ascii")
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                tmp.unlink()
            return
        self._changed = False
