"""Pruning across two processes: a trial asks, its sweep's driver answers, through files.

The trial (the user's command) logs its goal metric with a step through
``gitexp.log_metric``, which appends to the series file in its run folder; the
driver, which holds the study, reads that file, reports each new value to the
study's pruner and writes its answer, ``prune.json`` (``{"step", "prune"}``), beside
it. ``gitexp.should_prune()`` waits for the answer to its latest step, and when the
answer is to stop, leaves a ``pruned`` mark, so the run is recorded ``pruned``
whatever exit code the command ends with. No server, no socket: the run folder is
on the machine where the trial runs, and so is the driver's watch of it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write
from gitexp.core.metrics import series_key_path

ENV_PRUNE = "GITEXP_PRUNE"
"""Set for a trial whose sweep prunes: the goal key the driver watches."""
ANSWER = "prune.json"
MARK = "pruned"
ANSWER_WAIT_S = 10.0
"""How long a trial waits for the driver's answer before going on (a driver gone)."""


def pruned_by(run_dir: Path) -> bool:
    """Whether the trial of this run folder was told to stop, and heard it."""
    return (run_dir / MARK).exists()


def ask(run_dir: Path, step: float, wait_s: float = ANSWER_WAIT_S) -> bool:
    """The trial's side: the driver's answer for ``step`` (or a later one); True to stop.

    Waits for the answer, polling, so that a trial that asks right after logging
    gets the verdict on what it logged. With no answer in ``wait_s`` the trial goes
    on: a sweep that cannot answer must not stall its trials.
    """
    deadline = time.monotonic() + wait_s
    while True:
        answer = read_answer(run_dir)
        if answer is not None and answer[0] >= step:
            if answer[1]:
                atomic_write(run_dir / MARK, b"")
            return answer[1]
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def read_answer(run_dir: Path) -> tuple[float, bool] | None:
    """The driver's latest answer: (step, prune), or None before its first."""
    try:
        doc = orjson.loads((run_dir / ANSWER).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return float(doc["step"]), bool(doc["prune"])


def answer(run_dir: Path, step: float, prune: bool) -> None:
    """The driver's side: the verdict on the trial's value at ``step``, written atomically."""
    atomic_write(run_dir / ANSWER, orjson.dumps({"step": step, "prune": prune}))


def find_run_dir(runs: Path, name: str) -> Path | None:
    """The run folder of the run named ``name`` going on now, if it has one yet."""
    with contextlib.suppress(OSError):
        for folder in runs.glob(f"{name}-*"):
            with contextlib.suppress(OSError, orjson.JSONDecodeError):
                context = orjson.loads((folder / "context.json").read_bytes())
                if context.get("name") == name:
                    return folder
    return None


def read_steps(run_dir: Path, key: str) -> Iterator[tuple[float, float]]:
    """Every (step, value) the trial logged for ``key`` so far, in order.

    A last line without its newline is still being written, and is skipped.
    """
    try:
        data = (run_dir / "series" / series_key_path(key)).read_bytes()
    except OSError:
        return
    for line in data.split(b"\n")[1:-1]:
        step, _tab, value = line.partition(b"\t")
        with contextlib.suppress(ValueError):
            yield float(step), float(value)
