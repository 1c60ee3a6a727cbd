"""Directory manifests: a directory's files as one content-addressed object (version 1).

The bytes are canonical (UTF-8 JSON, no spaces, entries sorted by path, ``/`` as the
separator) so the same directory has the same hash on every machine. Paths are checked
on the way in: nothing absolute, no ``..``, no empty parts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from gitexp.core.hashing import Oid, parse_oid
from gitexp.errors import FormatError, PathError

VERSION = 1


@dataclass(frozen=True, slots=True)
class Entry:
    """One file of a directory: path inside it, content hash, size, executable bit."""

    path: str
    oid: Oid
    size: int
    exec: bool = False


def check_relpath(path: str, where: str) -> str:
    """``path`` if it is a safe relative path; `PathError` otherwise."""
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or "\x00" in path
        or any(p in ("", ".", "..") for p in parts)
        or (len(path) > 1 and path[1] == ":")
    ):
        raise PathError(
            f"{where}: unsafe path {path!r} (absolute, empty or with '..')",
            hint="the manifest may be corrupt or crafted; do not use it",
        )
    return path


def dump_manifest(entries: Iterable[Entry]) -> bytes:
    """The canonical bytes of a manifest for ``entries`` (sorted here)."""
    items = sorted(entries, key=lambda e: e.path)
    doc = {
        "version": VERSION,
        "entries": [
            {"path": e.path, "hash": str(e.oid), "size": e.size, "exec": e.exec} for e in items
        ],
    }
    return orjson.dumps(doc)


def parse_manifest(data: bytes, where: str) -> list[Entry]:
    """Read and check a manifest; `FormatError` or `PathError` name ``where``."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"manifest {where} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise FormatError(f"manifest {where} is not a version 1 manifest")
    raw = doc.get("entries")
    if not isinstance(raw, list):
        raise FormatError(f"manifest {where} has no entry list")
    entries: list[Entry] = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, dict):
            raise FormatError(f"manifest {where} has an entry that is not an object")
        path = check_relpath(str(item.get("path", "")), f"manifest {where}")
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise FormatError(f"manifest {where}: '{path}' has no valid size")
        if path in seen:
            raise FormatError(f"manifest {where} lists '{path}' twice")
        seen.add(path)
        oid = parse_oid(item.get("hash"), f"manifest {where}: '{path}'")
        entries.append(Entry(path, oid, size, bool(item.get("exec", False))))
    _check_prefixes(seen, where)
    return entries


def _check_prefixes(paths: set[str], where: str) -> None:
    """No path may also be a folder of another (``a`` and ``a/b``)."""
    for path in paths:
        head = path
        while "/" in head:
            head = head.rsplit("/", 1)[0]
            if head in paths:
                raise FormatError(f"manifest {where}: '{head}' is both a file and a folder")
