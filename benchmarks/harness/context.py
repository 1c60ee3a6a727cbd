"""What every operation gets: tools, sizes, the work folder, shared workloads, servers."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.tools import Tools

FULL_SIZES: dict[str, list[int]] = {
    "experiments": [100, 1_000, 10_000, 100_000],
    "diff": [100],
    "status": [100, 1_000, 10_000],
    "small_files": [10_000],
    "big_file": [1 << 30],
}
QUICK_SIZES: dict[str, list[int]] = {
    "experiments": [10, 30, 100],
    "diff": [10],
    "status": [10, 30, 100],
    "small_files": [100],
    "big_file": [1 << 20],
}


@dataclass
class Context:
    """Shared by all operations of one harness run."""

    tools: Tools
    work: Path
    quick: bool
    repeats: int
    dvc_max_experiments: int
    max_experiments: int
    s3: bool
    shared: dict[str, object] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        return self.tools.env

    @property
    def gitexp(self) -> list[str]:
        return self.tools.gitexp

    @property
    def dvc(self) -> list[str] | None:
        return self.tools.dvc

    def sizes(self, kind: str) -> list[int]:
        """The workload sizes of ``kind`` for this run (quick or full)."""
        sizes = (QUICK_SIZES if self.quick else FULL_SIZES)[kind]
        if kind == "experiments":
            sizes = [s for s in sizes if s <= self.max_experiments]
        return sizes

    def folder(self, *parts: str, fresh: bool = True) -> Path:
        """A folder under the work folder (emptied first unless ``fresh`` is false)."""
        path = self.work.joinpath("runs", *parts)
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def missing(self, *commands: str) -> str:
        """Why gitexp cannot run these commands yet, or "" when it can."""
        have = self.tools.gitexp_commands()
        absent = [c for c in commands if c not in have]
        if absent:
            word = "command" if len(absent) == 1 else "commands"
            return f"gitexp has no {word} " + ", ".join(f"`{c}`" for c in absent) + " yet"
        return ""

    def say(self, message: str) -> None:
        print(f"  … {message}", file=sys.stderr, flush=True)
