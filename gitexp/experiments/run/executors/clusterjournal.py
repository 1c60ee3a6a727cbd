"""The driver's journal of its runs on a cluster: what ``show`` and the UI list while they run.

A ``dask://`` driver's runs run on other machines, so they have no run journal
here; the driver keeps one for them instead, under ``<state>/cluster-runs/<id>/``:

- ``driver.json``: the driver's process (pid and start stamp, host, as a run
  journal names its owner) and every run it took, each with its row as a run
  waiting to start (status ``queued``);
- ``<name>/``: once a worker has started run ``name``, a run journal
  (`journal.begin`) owned by the driver: the draft record (status ``running``, the
  worker's host), the params as run, and the metrics and series the worker reports
  as the command logs them (see `reporting`).

`rows` lists a live driver's runs not recorded yet: ``running`` once started (with
their latest values), ``queued`` before. A run is recorded here as its experiment
ref is made, so it is never listed twice. A driver killed outright leaves its folder,
which nobody lists (its process is gone) and the next driver removes; its runs'
claims go back to the next ``queue start``, as before.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write
from gitexp.core.formats import unflatten
from gitexp.core.names import CLAIMED_REF_PREFIX, ExperimentName
from gitexp.core.runinfo import RunRecord, iso_utc, utc_now
from gitexp.experiments.run import journal
from gitexp.git.refs import read_ref
from gitexp.project import Project

VERSION = 1
DRIVER = "driver.json"
SERIES = "series"
"""In a started run's folder: the series reported so far, one file per key, as logged."""


@dataclass(frozen=True)
class ClusterRun:
    """What the driver knows of one run before it starts: enough to journal it."""

    record: RunRecord
    start_tree: str
    params: Mapping[str, bytes]
    """The params files as the run sees them (its queued commit's), by path."""
    metrics_file: str | None

    def waiting_row(self, commit: str) -> dict[str, object]:
        """The run's ``show --json`` object while it waits for a worker."""
        return {
            "name": self.record.name,
            "ref": CLAIMED_REF_PREFIX + self.record.name,
            "commit": None,
            "baseline": self.record.baseline_commit,
            "branch": self.record.baseline_branch,
            "created": self.record.started,
            "status": "queued",
            "params": {f: unflatten(v) for f, v in self.record.overrides.items()},
            "metrics": {},
            "data": {},
        }


class ClusterJournal:
    """One driver's folder: written by the driver only, from one thread."""

    def __init__(self, project: Project, token: str) -> None:
        self.folder = project.layout.cluster_runs / token
        self.runs: dict[str, ClusterRun] = {}
        self.ended: set[str] = set()

    def open(self, runs: Mapping[str, tuple[str, ClusterRun]]) -> None:
        """Start the journal with ``runs`` (name → queued commit and what to journal)."""
        _remove_dead(self.folder.parent)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.runs = {name: run for name, (_commit, run) in runs.items()}
        pid = os.getpid()
        doc = {
            "version": VERSION,
            "pid": pid,
            "pid_start": journal.process_stamp(pid),
            "host": socket.gethostname(),
            "runs": {name: run.waiting_row(commit) for name, (commit, run) in runs.items()},
        }
        atomic_write(self.folder / DRIVER, orjson.dumps(doc))

    def started(self, name: str, host: str) -> None:
        """A worker on ``host`` started run ``name`` (again, if its first worker died)."""
        run = self.runs.get(name)
        if run is None or name in self.ended:
            return
        folder = self.folder / name
        shutil.rmtree(folder, ignore_errors=True)  # what an earlier attempt reported
        (folder / SERIES).mkdir(parents=True)
        record = replace(run.record, status="running", started=iso_utc(utc_now()), host=host)
        journal.begin(
            folder,
            record,
            start_tree=run.start_tree,
            params_as_run=run.params,
            metrics_file=run.metrics_file,
        )

    def logged(
        self, name: str, metrics: Mapping[str, object] | None, series: Mapping[str, bytes]
    ) -> None:
        """Run ``name`` logged ``metrics`` (all so far) and ``series`` lines (new ones)."""
        folder = self.folder / name
        if name in self.ended or not (folder / journal.RUNNING).exists():
            return
        if metrics is not None:
            atomic_write(folder / journal.METRICS, orjson.dumps(dict(metrics)))
        for key, lines in series.items():
            path = (folder / SERIES / key).resolve()
            if not path.is_relative_to((folder / SERIES).resolve()):
                continue  # a path that leaves the folder is not a series
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as handle:
                handle.write(lines)

    def end(self, names: list[str]) -> None:
        """Runs ``names`` are recorded (or given back): no longer listed."""
        self.ended.update(names)
        for name in names:
            shutil.rmtree(self.folder / name, ignore_errors=True)

    def close(self) -> None:
        """The driver is done: its folder goes."""
        shutil.rmtree(self.folder, ignore_errors=True)


def rows(project: Project) -> list[dict[str, object]]:
    """The ``show --json`` objects of live drivers' runs not recorded yet.

    Cheap when no driver ran: one listing of a folder that does not exist.
    """
    found = []
    for folder, doc in _drivers(project):
        listed = doc.get("runs")
        for name, row in (listed if isinstance(listed, dict) else {}).items():
            if read_ref(project.git, ExperimentName(name).ref) is not None:
                continue
            started = journal.read(folder / name)
            found.append(journal.running_row(started) if started else row)
    return found


def running(project: Project) -> list[journal.Journal]:
    """The journals of live drivers' runs that a worker started and that are not recorded."""
    found = []
    for folder, doc in _drivers(project):
        listed = doc.get("runs")
        for name in listed if isinstance(listed, dict) else {}:
            started = journal.read(folder / name)
            if started and read_ref(project.git, ExperimentName(name).ref) is None:
                found.append(started)
    return found


def folders(project: Project) -> list[Path]:
    """Every run folder of the live drivers (for a cheap stamp of what changed)."""
    found = []
    for folder, doc in _drivers(project):
        listed = doc.get("runs")
        found += [folder / name for name in (listed if isinstance(listed, dict) else {})]
    return found


def _drivers(project: Project) -> Iterator[tuple[Path, dict[str, object]]]:
    """Each live driver's folder and ``driver.json``."""
    root = project.layout.cluster_runs
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        doc = _driver(Path(entry.path))
        if doc is not None and _alive(doc):
            yield Path(entry.path), doc


def _driver(folder: Path) -> dict[str, object] | None:
    try:
        doc = orjson.loads((folder / DRIVER).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("version") == VERSION else None


def _alive(doc: dict[str, object]) -> bool:
    """Whether the driver goes on (on another host: assumed so, as for run journals)."""
    if doc.get("host") != socket.gethostname():
        return True
    pid = doc.get("pid")
    return isinstance(pid, int) and journal.process_stamp(pid) == doc.get("pid_start")


def _remove_dead(root: Path) -> None:
    """Drop the folders of drivers that died here without a word."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(root) as entries:
        for entry in list(entries):
            doc = _driver(Path(entry.path))
            if doc is not None and doc.get("host") == socket.gethostname() and not _alive(doc):
                shutil.rmtree(entry.path, ignore_errors=True)
