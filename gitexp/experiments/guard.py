"""Overrides as arguments of one run: write the params files, then put them back.

Before the overridden bytes are written, a journal and a copy of every original go
to ``<state>/runs/<id>/``, so even a run killed outright is repaired by the next
``gitexp run``. A file the user edited meanwhile is never touched; it is reported.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write
from gitexp.core.hashing import hash_bytes

JOURNAL = "journal.json"


class ParamsGuard:
    """Writes ``files`` (``{path: (original, new)}``) into ``root`` and restores them."""

    def __init__(self, root: Path, run_dir: Path, files: dict[str, tuple[bytes, bytes]]) -> None:
        self.root = root
        self.run_dir = run_dir
        self.files = files
        self.restored = False

    def apply(self) -> None:
        """Journal the originals, then write the new bytes (atomically, one by one)."""
        if not self.files:
            return
        backups = self.run_dir / "backup"
        backups.mkdir(parents=True, exist_ok=True)
        entries = {}
        for number, (path, (original, new)) in enumerate(self.files.items()):
            atomic_write(backups / str(number), original)
            entries[path] = {"backup": str(number), "written": str(hash_bytes(new))}
        journal = {"version": 1, "pid": os.getpid(), "root": str(self.root), "files": entries}
        atomic_write(self.run_dir / JOURNAL, orjson.dumps(journal))
        for path, (_original, new) in self.files.items():
            atomic_write(self.root / path, new)

    def restore(self) -> list[str]:
        """Put every file back that still holds what we wrote; warnings for the rest."""
        if self.restored:
            return []
        self.restored = True
        warnings = []
        for path, (original, new) in self.files.items():
            warning = _restore_one(self.root / path, path, original, str(hash_bytes(new)))
            if warning:
                warnings.append(warning)
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / JOURNAL).unlink()
        return warnings


def _restore_one(full: Path, path: str, original: bytes, written: str) -> str | None:
    try:
        current = full.read_bytes()
    except FileNotFoundError:
        return f"'{path}' was deleted during the run; it was not restored"
    if current == original:
        return None
    if str(hash_bytes(current)) != written:
        return (
            f"'{path}' was edited during the run, so it was left as you saved it "
            "(the run used the overridden values)"
        )
    atomic_write(full, original)
    return None


def recover_stale(runs: Path) -> list[str]:
    """Restore params files of runs that died before putting them back.

    A journal whose process is gone is replayed: files still holding the overridden
    bytes get their originals back. Returns one message per file restored or skipped.
    """
    messages: list[str] = []
    if not runs.is_dir():
        return messages
    for journal_path in sorted(runs.glob(f"*/{JOURNAL}")):
        try:
            journal = orjson.loads(journal_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            continue
        if _alive(int(journal.get("pid", 0))):
            continue
        run_dir = journal_path.parent
        root = Path(journal["root"])
        for path, entry in journal.get("files", {}).items():
            original = (run_dir / "backup" / entry["backup"]).read_bytes()
            warning = _restore_one(root / path, path, original, entry["written"])
            messages.append(warning or f"restored '{path}' after an interrupted run")
        shutil.rmtree(run_dir, ignore_errors=True)
    return messages


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def user_bytes(runs: Path, root: Path, path: str, read: Callable[[], bytes]) -> bytes:
    """The user's bytes of params file ``path``, even while a run has overridden it.

    A file that holds what a live workspace run wrote is that run's, not the user's:
    planning another run from it would record the first run's overrides as its own.
    The run's journal is written before the overrides and removed after they are put
    back, so a read that matches no journal is read again to see that it was not taken
    in the moment between.
    """
    current = read()
    for _ in range(_STABLE_READS):
        original = _original_of(runs, root, path, current)
        if original is not None:
            return original
        again = read()
        if again == current:
            return current
        current = again
    return current


_STABLE_READS = 5


def _original_of(runs: Path, root: Path, path: str, current: bytes) -> bytes | None:
    written = str(hash_bytes(current))
    for journal_path in runs.glob(f"*/{JOURNAL}") if runs.is_dir() else []:
        try:
            journal = orjson.loads(journal_path.read_bytes())
            entry = journal["files"][path]
            if Path(journal["root"]) != root or entry["written"] != written:
                continue
            return (journal_path.parent / "backup" / str(entry["backup"])).read_bytes()
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
            continue
    return None
