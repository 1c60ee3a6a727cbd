"""Advisory locks between gitexp processes: storing against sweeping, and shared files.

A command that stores objects holds the cache's store lock shared, from before it
checks or writes its first object until the pointer, commit or ref that names them is
written; ``gc`` holds it exclusive while it marks what to keep and sweeps (and
``gc --compact`` for each file it compacts, one at a time). So a sweep
never sees objects that a running command has stored (or found already stored) but
not yet pointed to, ``--now`` or not; storers never wait for each other.

A read-modify-write of a file that several commands share (a ``.gitignore``, a config
file) happens under an exclusive lock on the file's folder: the file itself is
replaced by a rename, so a lock on it would be a lock on an inode that goes away.
Locks are ``flock`` locks: the kernel drops them when their process dies, so a
killed command never leaves one behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

STORE_LOCK = "store.lock"
"""The lock file in the cache folder (not an object: ``oids`` never lists it)."""


@contextlib.contextmanager
def storing(cache: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the store lock shared: objects stored meanwhile are safe from ``gc``.

    Waits while a sweep runs (a sweep is short: it reads refs and lists the cache),
    or while ``gc --compact`` compacts one file (it lets go between files); ``on_wait``
    is called once if the lock is not free at once.
    """
    with _locked(cache / STORE_LOCK, fcntl.LOCK_SH, on_wait):
        yield


@contextlib.contextmanager
def sweeping(cache: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the store lock exclusive, waiting for every storing command to finish.

    ``on_wait`` is called once if the lock is not free at once.
    """
    with _locked(cache / STORE_LOCK, fcntl.LOCK_EX, on_wait):
        yield


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` (which must exist) for a read-modify-write."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor releases the lock


@contextlib.contextmanager
def _locked(path: Path, mode: int, on_wait: Callable[[], None] | None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)
