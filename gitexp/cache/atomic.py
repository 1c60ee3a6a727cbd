"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader sees the old bytes or the new bytes, never a mix; a crash leaves at most a
stray ``.gitexp-tmp-*`` file, never a half-written target.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = ".gitexp-tmp-"


def atomic_write(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its permission bits if it exists.

    ``mode`` sets the permission bits of a new file (default: 0o644 less the umask).
    """
    target = Path(path)
    if mode is None:
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = None
    with atomic_open(target, mode) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_open(path: Path, mode: int | None = None) -> Iterator[BinaryIO]:
    """A binary file to write that becomes ``path`` only when the block ends cleanly."""
    import tempfile  # loaded when first needed: a checkout that writes nothing here skips it

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb", closefd=True) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


_UMASK: int | None = None


def _umask() -> int:
    global _UMASK
    if _UMASK is None:
        current = os.umask(0)
        os.umask(current)
        _UMASK = current
    return _UMASK
