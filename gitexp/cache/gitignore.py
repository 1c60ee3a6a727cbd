"""Keeping tracked data out of git: ``/<name>`` in a ``.gitignore`` in the data's folder.

The line is written once (a line that already ignores exactly that path is enough),
appended after the file's own content with the newline it may lack, and the file is
replaced atomically under a lock on its folder. Characters that mean something in a
pattern are escaped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from gitexp.cache.atomic import atomic_write
from gitexp.cache.locks import folder_lock

GITIGNORE = ".gitignore"
_SPECIAL = re.compile(r"([\\*?\[\]!# ])")


def ignore_line(name: str) -> str:
    """The pattern that ignores exactly ``name`` in its own folder."""
    escaped = _SPECIAL.sub(r"\\\1", name)
    return f"/{escaped}"


def ensure_ignored(data: Path) -> Path | None:
    """Add ``data``'s line to the ``.gitignore`` beside it; the file, if it was changed.

    The read, the check and the write happen under a lock on the folder, so commands
    adding data in one folder at once each keep their line (none is lost).
    """
    with folder_lock(data.parent):
        return _ensure_line(data.parent / GITIGNORE, ignore_line(data.name))


def _ensure_line(path: Path, line: str) -> Path | None:
    try:
        current = path.read_bytes()
    except FileNotFoundError:
        current = b""
    lines = current.decode("utf-8", errors="surrogateescape").splitlines()
    same = {line, line + "/", line[1:], line[1:] + "/"}
    if any(existing.strip() in same for existing in lines):
        return None
    text = current
    if text and not text.endswith(b"\n"):
        text += b"\n"
    text += line.encode("utf-8", errors="surrogateescape") + b"\n"
    atomic_write(path, text, _mode(path))
    return path


def _mode(path: Path) -> int | None:
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return None
