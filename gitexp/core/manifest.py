"""Directory manifests: a directory's files as one content-addressed object (version 1).

The bytes are canonical (UTF-8 JSON, no spaces, entries sorted by path, ``/`` as the
separator) so the same directory has the same hash on every machine. Paths are checked
on the way in: nothing absolute, no ``..``, no empty parts, no ``.git`` or ``.gitexp``
folder (in any case): checked out, such a folder would be a repository of its own,
whose config and hooks git would obey.
"""

from __future__ import annotations

import re
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


_OID_TEXT = re.compile(r"blake3:[0-9a-f]{64}")
_UNSAFE = re.compile(r"^$|^/|//|(^|/)\.\.?(/|$)|[\\\x00]|^.:")
_OWN = re.compile(r"(?:^|/)\.git(?:exp)?[. ]*(?=/|$)", re.IGNORECASE | re.MULTILINE)
"""A part that is git's folder or gitexp's own (any case, trailing dots or spaces)."""


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
    entries = _plain_entries(raw)
    if entries is None:
        entries = [_entry(item, where) for item in raw]
    paths = {e.path for e in entries}
    if len(paths) != len(entries):
        seen: set[str] = set()
        twice = next(e.path for e in entries if e.path in seen or seen.add(e.path))  # type: ignore[func-returns-value]
        raise FormatError(f"manifest {where} lists '{twice}' twice")
    _check_prefixes(paths, where)
    return entries


_HASHES = re.compile(r"(?:blake3:[0-9a-f]{64}\n)*blake3:[0-9a-f]{64}")
_DOT_PART = re.compile(r"(?<![^/\n])\.\.?(?![^/\n])")
_DRIVE = re.compile(r"^.:", re.MULTILINE)


def _plain_entries(raw: list[object]) -> list[Entry] | None:
    """The entries, when every one is plainly valid; None when one may not be.

    Checks all entries at once, on their paths and hashes joined by newlines (a
    manifest of 100,000 files is read on every checkout). It may say None for a valid
    manifest (a path with a newline, or a colon second); then `_entry` checks each
    entry alone and names what is wrong.
    """
    try:
        paths: list[str] = [item["path"] for item in raw]  # type: ignore[index]
        hashes: list[str] = [item["hash"] for item in raw]  # type: ignore[index]
        sizes: list[int] = [item["size"] for item in raw]  # type: ignore[index]
        execs = [item.get("exec") is True for item in raw]  # type: ignore[attr-defined]
        joined = "\n".join(paths)
        digests = "\n".join(hashes)
    except (TypeError, KeyError, AttributeError):
        return None
    if not (
        all(paths)
        and joined.count("\n") == len(paths) - 1
        and len(digests) == 72 * len(hashes) - 1
        and _HASHES.fullmatch(digests)
        and all(type(size) is int and size >= 0 for size in sizes)
        and _plainly_safe(joined)
    ):
        return None
    return [
        Entry(path, Oid(digest[7:]), size, executable)
        for path, digest, size, executable in zip(paths, hashes, sizes, execs, strict=True)
    ]


def _plainly_safe(joined: str) -> bool:
    """No path in ``joined`` is unsafe (see `_UNSAFE`).

    The paths are non-empty and hold no newline, so in ``joined`` a newline is where
    one path ends and the next begins.
    """
    if "//" in joined or "\\" in joined or "\x00" in joined:
        return False
    if joined.startswith("/") or "\n/" in joined:
        return False
    if ":" in joined and _DRIVE.search(joined):
        return False
    return not _DOT_PART.search(joined) and not _OWN.search(joined)


def _entry(item: object, where: str) -> Entry:
    """One checked entry; the common, valid case costs two regex matches."""
    if not isinstance(item, dict):
        raise FormatError(f"manifest {where} has an entry that is not an object")
    path = item.get("path")
    if not isinstance(path, str) or _UNSAFE.search(path):
        check_relpath(str(path or ""), f"manifest {where}")
        raise PathError(f"manifest {where}: unsafe path {path!r}")
    if _OWN.search(path):
        raise PathError(
            f"manifest {where}: unsafe path {path!r} (inside a .git or .gitexp folder)",
            hint="the manifest may be corrupt or crafted; do not use it",
        )
    size = item.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FormatError(f"manifest {where}: '{path}' has no valid size")
    digest = item.get("hash")
    if isinstance(digest, str) and _OID_TEXT.fullmatch(digest):
        oid = Oid(digest[7:])
    else:
        oid = parse_oid(digest, f"manifest {where}: '{path}'")
    return Entry(path, oid, size, item.get("exec") is True)


def _check_prefixes(paths: set[str], where: str) -> None:
    """No path may also be a folder of another (``a`` and ``a/b``)."""
    folders: set[str] = set()
    for path in paths:
        end = path.rfind("/")
        while end > 0:
            head = path[:end]
            if head in folders:
                break
            folders.add(head)
            end = path.rfind("/", 0, end)
    clash = folders & paths
    if clash:
        raise FormatError(f"manifest {where}: '{min(clash)}' is both a file and a folder")
