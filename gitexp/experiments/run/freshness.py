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

from gitexp.cache.atomic import atomic_write
from gitexp.core.config import ProjectConfig

Stamp = tuple[int, int, int, int]
"""(mtime_ns, ctime_ns, inode, size) of a file."""

STAMPS_FILE = "stamps.json"
"""In the run folder: the result files' stamps at start (the logging API reads them)."""
STAMPS_VERSION = 1

_CLOCK_WAIT_S = 2.0


def stamp(path: Path) -> Stamp | None:
    """The stat stamp of a regular file, None if there is none."""
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_size)


def read_stamps(run_dir: Path) -> dict[str, Stamp]:
    """The stamps a watch left in ``run_dir`` at start, by path (empty if none)."""
    try:
        doc = orjson.loads((run_dir / STAMPS_FILE).read_bytes())
    except FileNotFoundError:
        return {}
    if not isinstance(doc, dict) or doc.get("version") != STAMPS_VERSION:
        return {}
    return {path: (v[0], v[1], v[2], v[3]) for path, v in doc["files"].items()}


class ResultsWatch:
    """Tells which result files were written between the run's start and now.

    `begin` stamps the files when a run starts and keeps the stamps in its run folder;
    `resume` reads them back, so a run can be recorded later by another process (a
    run found crashed, say) with the same answers.
    """

    def __init__(self, root: Path, config: ProjectConfig, before: dict[str, Stamp], since: int):
        """A watch over ``config``'s results in ``root``, from stamps taken at ``since``."""
        self.root = root
        self.declared = tuple(p.rstrip("/") for p in (*config.metrics, *config.plots, *config.outs))
        self.before = before
        self.since = since

    @classmethod
    def begin(cls, root: Path, config: ProjectConfig, run_dir: Path) -> ResultsWatch:
        """Stamp every file under the declared results, then let the clock move past them."""
        watch = cls(root, config, {}, 0)
        for declared in watch.declared:
            for rel in files_under(root, declared):
                found = stamp(root / rel)
                if found is not None:
                    watch.before[rel] = found
        newest = max((s[1] for s in watch.before.values()), default=0)
        watch.since = _clock_past(run_dir, newest)
        doc = {"version": STAMPS_VERSION, "since": watch.since, "files": watch.before}
        atomic_write(run_dir / STAMPS_FILE, orjson.dumps(doc))
        return watch

    @classmethod
    def resume(cls, root: Path, config: ProjectConfig, run_dir: Path) -> ResultsWatch:
        """The watch `begin` left in ``run_dir``; with none, every result counts as written."""
        try:
            since = int(orjson.loads((run_dir / STAMPS_FILE).read_bytes())["since"])
        except (FileNotFoundError, KeyError, TypeError, ValueError, orjson.JSONDecodeError):
            since = 0
        return cls(root, config, read_stamps(run_dir), since)

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
