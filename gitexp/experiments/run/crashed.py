"""Runs that died without a word (gitexp SIGKILLed, the machine down): recorded as crashed.

The next gitexp command that looks (``run``, ``show``, ``list`` …) finds the dead run's
journal (see `journal`), records the experiment with status ``crashed`` and what the
run left: its params as run, output log, series and metrics so far, on the tree its
files started from. Then the params files are put back and the journal is removed.

Two commands may find the same journal at once: each takes a lock in the run folder
first (released by the kernel if its holder dies too), and only the holder acts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from gitexp.core.names import ExperimentName
from gitexp.core.runinfo import (
    OUTPUT_LOG,
    RUN_JSON,
    SERIES_DIR,
    parse_run_json,
    parse_trailers,
    trailers,
)
from gitexp.errors import ConflictError, GitexpError
from gitexp.experiments.run import journal
from gitexp.experiments.run.journal import Journal

if TYPE_CHECKING:
    from gitexp.project import Project

# Recording needs the git and cache layers; they are imported only when a run crashed,
# so ``show`` pays nothing for this module when none did.

LOCK = "recover.lock"


def recover(project: Project) -> list[str]:
    """Record every run whose process is gone and put its params back; what was done.

    Cheap when nothing ran: one listing of the runs folder. Runs still going, runs of
    another host and folders without a journal (an in-process ``Experiment``) are left.
    """
    runs = project.layout.runs
    try:
        folders = sorted(entry.path for entry in os.scandir(runs) if entry.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    messages: list[str] = []
    for folder in folders:
        if _dead(Path(folder)):
            messages += _recover_locked(project, Path(folder))
    return messages


def remove_abandoned_worktrees(project: Project) -> list[str]:
    """Remove the worktrees of runs whose gitexp process was killed; their names.

    Live ones (a ``-j`` run going on) are never touched. Called by ``run`` and ``gc``.
    """
    from gitexp.git.worktrees import remove_abandoned

    return remove_abandoned(project.git, project.layout.worktrees)


def _dead(folder: Path) -> bool:
    found = journal.read(folder)
    if found is not None:
        return not found.alive()
    from gitexp.experiments.run import guard

    return guard.journal_pid(folder) is not None and not guard.journal_alive(folder)


def _recover_locked(project: Project, folder: Path) -> list[str]:
    try:
        handle = open(folder / LOCK, "a+b")  # noqa: SIM115 - held until the folder is gone
    except OSError:
        return []  # removed meanwhile: another command recovered it
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return []
        if not (folder / LOCK).exists() or not _dead(folder):
            return []  # recovered and removed by the command that held the lock before
        from gitexp.experiments.run import guard

        messages = []
        found = journal.read(folder)
        if found is not None and (said := _record(project, found)):
            messages.append(said)
        messages += guard.restore_journaled(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return messages


def _record(project: Project, found: Journal) -> str | None:
    """Write the crashed experiment of ``found``; a message that says what became of it.

    None when the run had recorded itself and died only while cleaning up.
    """
    import pygit2

    from gitexp.experiments.run.runner import remember
    from gitexp.git.refs import create_ref
    from gitexp.git.snapshot import tree_with

    name = found.name
    try:
        record = parse_run_json(orjson.dumps(found.record), f"the journal of run '{name}'")
        record = dataclasses.replace(
            record, status="crashed", exit_code=None, duration_s=_duration(found)
        )
        files = dict(found.params_as_run())
        files.update(_left_files(found))
        files[RUN_JSON] = record.to_json()
        start = str(found.doc.get("start_tree") or "")
        tree = tree_with(project.git, start, files)
        message = (
            f"gitexp: {name}\n\n{' '.join(record.command)}\n"
            "problem: the run crashed: gitexp stopped without recording it\n\n"
        ) + trailers(record)
        commit = project.git.write_commit(tree, [record.baseline_commit], message)
        create_ref(project.git, ExperimentName(name).ref, commit)
    except ConflictError:
        if _recorded_itself(project, found):
            return None
        return f"run '{name}' crashed; its name is taken now, so it was not recorded"
    except (GitexpError, KeyError, ValueError, pygit2.GitError) as exc:
        return f"run '{name}' crashed and could not be recorded: {exc}"
    remember(project, commit)
    return f"recorded experiment '{name}' as crashed: gitexp stopped without recording it"


def _recorded_itself(project: Project, found: Journal) -> bool:
    """Whether the experiment's ref holds this very run (same start to the millisecond)."""
    from gitexp.git.refs import read_ref

    target = read_ref(project.git, ExperimentName(found.name).ref)
    if target is None:
        return False
    facts = parse_trailers(project.git.lookup_commit(target).message) or {}
    return bool(facts.get("started")) and facts.get("started") == found.record.get("started")


def _left_files(found: Journal) -> dict[str, bytes]:
    """What the run left in its folder, as the experiment's files."""
    from gitexp.experiments.run.record import LOG_LIMIT
    from gitexp.experiments.run.tracking import dump_metrics

    files: dict[str, bytes] = {}
    with contextlib.suppress(OSError):
        log = (found.folder / journal.OUTPUT).read_bytes()
        files[OUTPUT_LOG] = log[-LOG_LIMIT:]
    with contextlib.suppress(OSError):
        folder = found.folder / "series"
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            whole = data[: data.rfind(b"\n") + 1]  # a line torn by the crash is dropped
            if whole.count(b"\n") > 1:
                files[f"{SERIES_DIR}/{path.relative_to(folder).as_posix()}"] = whole
    metrics_file = found.doc.get("metrics_file")
    values = found.metrics()
    if isinstance(metrics_file, str) and values:
        files[metrics_file] = dump_metrics(values, metrics_file)
    return files


def _duration(found: Journal) -> float:
    """From the run's start to the last thing it wrote."""
    clock = found.doc.get("clock")
    if not isinstance(clock, (int, float)):
        return 0.0
    last = clock
    for path in (found.folder / journal.OUTPUT, found.folder / journal.METRICS):
        with contextlib.suppress(OSError):
            last = max(last, path.stat().st_mtime)
    return max(0.0, min(last, time.time()) - clock)
