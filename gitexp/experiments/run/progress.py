"""What a sweep, a ``-j`` grid or ``queue start`` shows while it runs: a line per running run.

The board needs no hook in the drivers or executors: every run writes its journal
(`journal.begin`) before its command starts and logs its metrics there, and every
driver already hands each recorded run to ``on_result``. So a `Board` lists the
live journals of the runs this process started (its own, or its children's, such
as a local Dask cluster's workers) and counts the results it is told of. Drawing
the lines is the CLI's business; this module only says what they hold.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from gitexp.core.dotted import lookup
from gitexp.core.params import format_value
from gitexp.experiments.run.journal import Journal, journals
from gitexp.experiments.run.record import RunResult
from gitexp.project import Project


@dataclass(frozen=True, slots=True)
class RunLine:
    """One running run: its name, its overrides in short, time so far, latest goal value."""

    name: str
    overrides: str
    elapsed_s: float
    goal: str | None
    value: float | None


@dataclass(frozen=True, slots=True)
class Counts:
    """How the runs of this command stand."""

    done: int = 0
    failed: int = 0
    pruned: int = 0
    running: int = 0


class Board:
    """The runs of this process: those going on (from journals) and counts of those ended.

    Safe to call from several threads: drivers report results from theirs, and the
    display reads from its own.
    """

    def __init__(self, project: Project, goal: str | None = None) -> None:
        self.runs = project.layout.runs
        self.goal = goal or next(iter(project.config.goals), None)
        self.lock = threading.Lock()
        self.ended: dict[str, str] = {}
        self.pid = os.getpid()
        self.ours: dict[int, bool] = {self.pid: True}

    def ended_run(self, result: RunResult) -> None:
        """Count a recorded run (call it from ``on_result``)."""
        with self.lock:
            self.ended[result.name] = result.status

    def lines(self) -> list[RunLine]:
        """The runs going on now that this process started, oldest first."""
        now = time.time()
        with self.lock:
            ended = set(self.ended)
        found = []
        for journal in journals(self.runs):
            if journal.name in ended or not self._ours(journal) or not journal.alive():
                continue
            found.append(self._line(journal, now))
        return sorted(found, key=lambda line: -line.elapsed_s)

    def counts(self, running: int) -> Counts:
        """Done, failed and pruned so far, with ``running`` (the lines shown)."""
        with self.lock:
            statuses = list(self.ended.values())
        done = statuses.count("success")
        pruned = statuses.count("pruned")
        return Counts(done, len(statuses) - done - pruned, pruned, running)

    def _line(self, journal: Journal, now: float) -> RunLine:
        clock = journal.doc.get("clock")
        elapsed = max(0.0, now - clock) if isinstance(clock, (int, float)) else 0.0
        goal, value = self._latest(journal.metrics())
        return RunLine(journal.name, short_overrides(journal.record), elapsed, goal, value)

    def _latest(self, metrics: Mapping[str, object]) -> tuple[str | None, float | None]:
        """The goal's latest value; with no goal known, the first number the run logged."""
        keys = [self.goal] if self.goal else list(metrics)
        for key in keys:
            value = lookup(metrics, key.rpartition(":")[2])
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return key, float(value)
        return self.goal, None

    def _ours(self, journal: Journal) -> bool:
        """Whether this process or one of its descendants (a Dask worker) owns the run."""
        pid = journal.doc.get("pid")
        if not isinstance(pid, int):
            return False
        if pid not in self.ours:
            self.ours[pid] = self.pid in _ancestors(pid)
        return self.ours[pid]


def short_overrides(record: Mapping[str, object]) -> str:
    """A run's overrides as ``KEY=VALUE`` words, each key by its last dotted part.

    Floats show four significant digits: the line is a glance, the record has them all.

    >>> short_overrides({"overrides": {"params.yaml": {"train.lr": 0.01, "model.hidden": 32}}})
    'lr=0.01 hidden=32'
    """
    given = record.get("overrides")
    flat: list[tuple[str, object]] = []
    for keys in (given or {}).values() if isinstance(given, dict) else ():
        if isinstance(keys, dict):
            flat.extend((str(k), v) for k, v in keys.items())
    lasts = [key.rpartition(".")[2] for key, _v in flat]
    words = []
    for (key, value), last in zip(flat, lasts, strict=True):
        shown = last if lasts.count(last) == 1 else key
        text = f"{value:.4g}" if isinstance(value, float) else format_value(value)
        words.append(f"{shown}={text}")
    return " ".join(words)


def _ancestors(pid: int, depth: int = 6) -> list[int]:
    """The parent, grandparent, … of ``pid`` (Linux ``/proc``; elsewhere none)."""
    found = []
    for _ in range(depth):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            break
        pid = int(fields[1])
        if pid <= 1:
            break
        found.append(pid)
    return found
