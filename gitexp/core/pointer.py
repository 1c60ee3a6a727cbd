"""Pointer files ``<path>.gitexp``: which content a tracked path holds (version 1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from gitexp.core.formats import load_document
from gitexp.core.hashing import Oid, parse_oid
from gitexp.errors import FormatError

SUFFIX = ".gitexp"
VERSION = 1
_KEYS = {"version", "hash", "size", "kind", "files"}


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


def parse_pointer(data: bytes, where: str) -> Pointer:
    """Read and check a pointer file; every problem is a `FormatError` naming ``where``."""
    doc = load_document(data, where, "yaml")
    if not isinstance(doc, dict):
        raise FormatError(f"pointer '{where}' is not a mapping", hint="restore it with git")
    unknown = sorted(set(doc) - _KEYS)
    if unknown:
        raise FormatError(f"pointer '{where}' has an unknown key '{unknown[0]}'")
    if doc.get("version") != VERSION:
        raise FormatError(
            f"pointer '{where}' has version {doc.get('version')!r}; this gitexp reads version 1",
            hint="upgrade gitexp, or restore the pointer with git",
        )
    oid = parse_oid(doc.get("hash"), f"pointer '{where}'")
    size = doc.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FormatError(f"pointer '{where}' has no valid size (got {size!r})")
    kind = doc.get("kind", "file")
    if kind not in ("file", "dir"):
        raise FormatError(f"pointer '{where}' has kind {kind!r}; expected file or dir")
    files = doc.get("files")
    if kind == "dir" and (not isinstance(files, int) or isinstance(files, bool) or files < 0):
        raise FormatError(f"pointer '{where}' is a directory without a valid file count")
    return Pointer(oid, size, kind, files if kind == "dir" else None)
