"""Overrides as arguments of one run: write the params files, then put them back.

The one way a run's params are written, in the workspace and in a worktree alike.
Before the overridden bytes are written, a journal and a copy of every original go
to ``<state>/runs/<id>/``, so even a run killed outright is repaired by the next
gitexp command that finds it (see `gitexp.experiments.run.crashed`). A file the user
edited meanwhile is never touched; it is reported. In a throwaway worktree nothing
is put back (``put_back`` false, in the journal too): the worktree goes as a whole.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write
from gitexp.core.hashing import hash_bytes

JOURNAL = "journal.json"


class ParamsGuard:
    """Writes ``files`` (``{path: (original, new)}``) into ``root`` and restores them.

    With ``put_back`` false (a worktree run), `restore` only drops the journal.
    """

    def __init__(
        self,
        root: Path,
        run_dir: Path,
        files: Mapping[str, tuple[bytes, bytes]],
        *,
        put_back: bool = True,
    ) -> None:
        self.root = root
        self.run_dir = run_dir
        self.files = files
        self.put_back = put_back
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
        journal = {
            "version": 1,
            "pid": os.getpid(),
            "root": str(self.root),
            "files": entries,
            "put_back": self.put_back,
        }
        atomic_write(self.run_dir / JOURNAL, orjson.dumps(journal))
        for path, (_original, new) in self.files.items():
            atomic_write(self.root / path, new)

    def restore(self) -> list[str]:
        """Put every file back that still holds what we wrote; warnings for the rest."""
        if self.restored:
            return []
        self.restored = True
        warnings = []
        for path, (original, new) in self.files.items() if self.put_back else ():
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


def journal_pid(run_dir: Path) -> int | None:
    """The pid of the process that wrote ``run_dir``'s journal; None when there is none."""
    try:
        journal = orjson.loads((run_dir / JOURNAL).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    pid = journal.get("pid") if isinstance(journal, dict) else None
    return pid if isinstance(pid, int) else 0


def restore_journaled(run_dir: Path) -> list[str]:
    """Put back the params files of a run that died before it could.

    The journal is replayed: files still holding the overridden bytes get their
    originals back; one message per file restored or skipped. The caller makes sure
    the run's process is gone. The journal is removed once replayed.
    """
    try:
        journal = orjson.loads((run_dir / JOURNAL).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    messages: list[str] = []
    root = Path(journal["root"])
    if journal.get("put_back") is False:  # a worktree's: it goes as a whole
        with contextlib.suppress(FileNotFoundError):
            (run_dir / JOURNAL).unlink()
        return []
    for path, entry in journal.get("files", {}).items():
        try:
            original = (run_dir / "backup" / entry["backup"]).read_bytes()
        except OSError:
            messages.append(f"'{path}' could not be restored: its backup is gone")
            continue
        warning = _restore_one(root / path, path, original, entry["written"])
        messages.append(warning or f"restored '{path}' after an interrupted run")
    with contextlib.suppress(FileNotFoundError):
        (run_dir / JOURNAL).unlink()
    return messages


def journaled_originals(runs: Path, root: Path) -> dict[str, dict[str, bytes]]:
    """What workspace runs at ``root`` overrode: path → {hash of the bytes written: original}.

    Read from the journals in ``runs``, whatever state their runs are in; a journal
    being removed or rewritten meanwhile is skipped. Nothing is written.
    """
    found: dict[str, dict[str, bytes]] = {}
    for journal_path in sorted(runs.glob(f"*/{JOURNAL}")):
        try:
            journal = orjson.loads(journal_path.read_bytes())
            if Path(journal["root"]) != root:
                continue
            for path, entry in journal["files"].items():
                original = (journal_path.parent / "backup" / entry["backup"]).read_bytes()
                found.setdefault(path, {})[entry["written"]] = original
        except (OSError, KeyError, TypeError, orjson.JSONDecodeError):
            continue
    return found


def journal_alive(run_dir: Path) -> bool:
    """Whether the process that wrote ``run_dir``'s params journal still runs."""
    return _alive(journal_pid(run_dir) or 0)


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
