"""Which result files a run wrote: a run's record is what that run did.

Metrics files, series files under ``plots:``, outs and logged artifacts are a run's
results only if the run wrote them. A file left in the workspace by an earlier run,
or committed in the baseline, looks the same as a fresh one by content, so freshness
is told by the file's stat: every file under a declared result path is stamped
(mtime, ctime, inode, size) before the command starts, and a file is fresh when its
stamp changed or it is new. A file rewritten with the same bytes is fresh too.

Racy timestamps: a rewrite in the same clock tick as the earlier write, in place and
with the same size, would keep every part of the stamp. So before the command starts
the watch waits until the file system's clock has moved past the newest stamped
ctime (it only waits when such a file was written a moment ago, as in a worktree just
checked out). A logged artifact outside the declared paths has no stamp; it is fresh
when its ctime is at or after that start time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path

import orjson

from gitexp.core.config import ProjectConfig

Stamp = tuple[int, int, int, int]
"""(mtime_ns, ctime_ns, inode, size) of a file."""

STAMPS_FILE = "stamps.json"
"""In the run folder: the metrics files' stamps at start, for the logging API."""

_CLOCK_WAIT_S = 2.0


def stamp(path: Path) -> Stamp | None:
    """The stat stamp of a regular file, None if there is none."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_size)


def read_stamps(run_dir: Path) -> dict[str, Stamp]:
    """The metrics files' stamps a watch left in ``run_dir`` (empty if none)."""
    try:
        doc = orjson.loads((run_dir / STAMPS_FILE).read_bytes())
    except FileNotFoundError:
        return {}
    return {path: (v[0], v[1], v[2], v[3]) for path, v in doc.items()}


class ResultsWatch:
    """Tells which result files were written between its creation and now."""

    def __init__(self, root: Path, config: ProjectConfig, run_dir: Path) -> None:
        """Stamp every file under the declared results, then let the clock move on.

        The metrics files' stamps go into ``run_dir`` for the logging API.
        """
        self.root = root
        self.declared = tuple(p.rstrip("/") for p in (*config.metrics, *config.plots, *config.outs))
        self.before: dict[str, Stamp] = {}
        for declared in self.declared:
            for rel in files_under(root, declared):
                found = stamp(root / rel)
                if found is not None:
                    self.before[rel] = found
        metrics = {p: self.before[p] for p in config.metrics if p in self.before}
        (run_dir / STAMPS_FILE).write_bytes(orjson.dumps(metrics))
        newest = max((s[1] for s in self.before.values()), default=0)
        self.since = _clock_past(run_dir, newest)

    def written(self, rel: str) -> bool:
        """Whether the file at ``rel`` exists and was written since the watch began."""
        now = stamp(self.root / rel)
        if now is None:
            return False
        if rel in self.before:
            return now != self.before[rel]
        if any(rel == d or rel.startswith(d + "/") for d in self.declared):
            return True  # new under a declared path
        return now[1] >= self.since

    def written_any(self, rel: str) -> bool:
        """For a file or a folder: whether anything in it was written, added or removed."""
        now = files_under(self.root, rel)
        kept = set(now)
        old = (p for p in self.before if p == rel or p.startswith(rel + "/"))
        return any(p not in kept for p in old) or any(self.written(p) for p in now)


def files_under(root: Path, rel: str) -> list[str]:
    """``rel`` if it is a file, else the files under it, sorted; [] if nothing is there."""
    full = root / rel
    if full.is_file():
        return [rel]
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(full):
        dirnames.sort()
        found.extend(Path(dirpath, n).relative_to(root).as_posix() for n in sorted(filenames))
    return found


def _clock_past(folder: Path, newest_ns: int) -> int:
    """Wait (briefly) until a new file's ctime is after ``newest_ns``; that ctime."""
    probe = folder / ".clock"
    deadline = time.monotonic() + _CLOCK_WAIT_S
    while True:
        probe.write_bytes(b"")
        now = probe.stat().st_ctime_ns
        probe.unlink()
        if now > newest_ns or time.monotonic() > deadline:
            return now
        time.sleep(0.001)


def left_over_note(paths: Iterable[str]) -> list[str]:
    """The run's warnings for result files it did not write."""
    return [
        f"'{p}' was not written by this run (it is left from before): not recorded as its result"
        for p in paths
    ]
