"""Pointer files ``<path>.gitexp``: which content a tracked path holds (version 1).

A pointer file comes from git, so from anyone who can push a commit: it is checked
before anything is done with it. Its data path must be a plain relative path inside
the working tree that names neither git's folder (``.git``, in any case) nor gitexp's
own state, and each field must be what gitexp writes. A broken pointer is named with
its file and its bad field, and the way to repair it; "upgrade gitexp" is said only
for a version number newer than this gitexp reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gitexp.core.filenames import SUFFIX as SUFFIX
from gitexp.core.formats import load_document
from gitexp.core.hashing import Oid
from gitexp.errors import FormatError, PathError

VERSION = 1
_KEYS = {"version", "hash", "size", "kind", "files"}
_HASH = re.compile(r"blake3:([0-9a-f]{64})")
_OWN_FOLDERS = {".git", ".gitexp"}
"""Path parts no data may have: git's folder, and gitexp's own (``.gitexp/`` run state)."""


@dataclass(frozen=True, slots=True)
class Pointer:
    """The content of a pointer: a file's hash and size, or a directory's manifest hash."""

    oid: Oid
    size: int
    kind: Literal["file", "dir"] = "file"
    files: int | None = None

    def dump(self) -> bytes:
        """The pointer file's bytes: small, stable YAML."""
        lines = [f"version: {VERSION}", f"hash: {self.oid}", f"size: {self.size}"]
        if self.kind == "dir":
            lines += ["kind: dir", f"files: {self.files or 0}"]
        return ("\n".join(lines) + "\n").encode()


def data_path(pointer_path: str) -> str:
    """The data path a pointer file stands for: ``data/train.csv.gitexp`` → ``data/train.csv``."""
    return pointer_path[: -len(SUFFIX)] if pointer_path.endswith(SUFFIX) else pointer_path


def pointer_path(data: str) -> str:
    """The pointer file that stands beside a data path."""
    return data + SUFFIX


def unsafe_reason(data: str) -> str | None:
    """Why ``data`` may not be a data path (None when it may).

    Refused: an empty, absolute or drive path, backslashes, NUL, empty, ``.`` or
    ``..`` parts, and any part that is git's folder or gitexp's own, compared without
    case and without the trailing dots and spaces that Windows drops (``.GIT.``).
    """
    if not data or data.startswith("/") or (len(data) > 1 and data[1] == ":"):
        return "an absolute or empty path"
    if "\\" in data or "\x00" in data:
        return "a path with a backslash or NUL"
    for part in data.split("/"):
        if part in ("", ".", ".."):
            return "a path with an empty, '.' or '..' part"
        folded = part.rstrip(". ").casefold()
        if folded in _OWN_FOLDERS:
            owner = "git's own folder" if folded == ".git" else "gitexp's own folder"
            return f"inside {owner} {part}"
    return None


def check_data_path(data: str, where: str) -> str:
    """``data`` if gitexp may read and write it; `PathError` naming ``where`` otherwise.

    The hint never offers ``--force``: the path is not gitexp's to overwrite.
    """
    reason = unsafe_reason(data)
    if reason is not None:
        raise PathError(
            f"{where}: unsafe data path {data!r} ({reason}); gitexp will not read or write it",
            hint=f"the pointer may be crafted: remove {where} or restore it from a commit "
            "you trust",
        )
    return data


def parse_pointer(data: bytes, where: str) -> Pointer:
    """Read and check a pointer file ``where`` (its path in the repository).

    When ``where`` ends in ``.gitexp`` its data path is checked too (`PathError`);
    every other problem is a `FormatError` that names ``where`` and the bad field.
    """
    if where.endswith(SUFFIX):
        check_data_path(data_path(where), where)
    doc = load_document(data, where, "yaml")
    if not isinstance(doc, dict):
        raise _broken(where, "it is not a mapping of fields")
    unknown = sorted(set(doc) - _KEYS, key=str)
    if unknown:
        raise _broken(where, f"unknown field {unknown[0]!r}")
    _check_version(doc.get("version"), where)
    oid = _oid(doc.get("hash"), where)
    size = doc.get("size")
    if not isinstance(size, int) or not _count(size):
        raise _broken(where, f"size {size!r} is not a size in bytes")
    kind = doc.get("kind", "file")
    if kind not in ("file", "dir"):
        raise _broken(where, f"kind {kind!r} is neither file nor dir")
    files = doc.get("files")
    if kind == "dir" and not _count(files):
        raise _broken(where, f"files {files!r} is not a file count (kind is dir)")
    return Pointer(oid, size, kind, files if kind == "dir" else None)


def _check_version(version: object, where: str) -> None:
    """Only a whole number newer than `VERSION` asks for a newer gitexp."""
    if version == VERSION and type(version) is int:
        return
    if type(version) is int and version > VERSION:
        raise FormatError(
            f"{where}: pointer version {version} is newer than this gitexp reads "
            f"(version {VERSION})",
            hint="upgrade gitexp to read it",
        )
    what = "is missing" if version is None else f"{version!r} is not a pointer version"
    raise _broken(where, f"version {what}")


def _oid(value: object, where: str) -> Oid:
    match = _HASH.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        shown = "is missing" if value is None else f"{value!r} is not a blake3 hash"
        raise _broken(where, f"hash {shown} (blake3: and 64 lowercase hex digits)")
    return Oid(match.group(1))


def _count(value: object) -> bool:
    return type(value) is int and value >= 0


def _broken(where: str, problem: str) -> FormatError:
    """A broken pointer: what is wrong with which field, and the two ways to repair it."""
    data = data_path(where)
    return FormatError(
        f"{where}: {problem}",
        hint=f"restore the file from git (`git checkout -- {where}`) or run `gitexp add {data}`",
    )
