"""Atomic file writes: a temporary file in the same folder, then a rename.

A reader sees the old bytes or the new bytes, never a mix; a crash leaves at most a
stray ``.gitexp-tmp-*`` file, never a half-written target.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
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


FLUSH_JOBS = 16
"""Files flushed at once: the filesystem commits many flushes together."""


def flush_to_disk(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Flush each file or folder of ``paths`` to disk (``fsync``), several at once.

    For files just written and renamed in: flushing their folders makes the new
    names durable too. Many flushes at once cost about one (they share the
    filesystem's journal commits), where one after another each waits for its own.
    A path gone meanwhile is skipped.
    """
    todo = list(dict.fromkeys(os.fspath(p) for p in paths))
    if not todo:
        return
    if len(todo) == 1:
        _flush(todo[0])
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(FLUSH_JOBS, len(todo))) as pool:
        for _ in pool.map(_flush, todo):
            pass


def _flush(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
