"""A run's journal: what a running experiment is, readable while it runs and after it died.

Every run has a folder ``<state>/runs/<name>-<id>/``. Before its command starts, the
run writes ``running.json`` there: its draft record (status ``running``), the tree its
files started from, the params as run, and the process that owns it (pid, and the
process's start time, so a reused pid is not mistaken for it). Once the command
starts, ``command.json`` names its process the same way: a run lives while either
does (a command whose gitexp was killed alone still logs here). While the command
runs, the folder fills with its output log, the series it logs and its metrics so far.

``show`` reads the journals of live runs as ``running`` rows; a journal whose process
is gone belongs to a run that crashed (see `gitexp.experiments.run.crashed`). The folder is
removed once the run is recorded, so no journal means no run: ``show`` pays one
directory listing when nothing runs.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import orjson

from gitexp.cache.atomic import atomic_write
from gitexp.core.formats import load_mapping
from gitexp.core.names import ExperimentName
from gitexp.core.runinfo import RunRecord
from gitexp.errors import GitexpError

VERSION = 1
RUNNING = "running.json"
OUTPUT = "output.log"
METRICS = "metrics.json"
"""Every metric the run logged through the API so far (written by `tracking`)."""
PARAMS_DIR = "params-as-run"
COMMAND = "command.json"


@dataclass(frozen=True, slots=True)
class Journal:
    """One run's ``running.json``, read back."""

    folder: Path
    doc: dict[str, object]

    @property
    def name(self) -> str:
        """The experiment's name."""
        return str(self.doc["name"])

    @property
    def record(self) -> dict[str, object]:
        """The draft ``run.json`` document (status ``running``)."""
        record = self.doc.get("record")
        return record if isinstance(record, dict) else {}

    def params_as_run(self) -> dict[str, bytes]:
        """The params files as the run saw them, by path."""
        files = self.doc.get("params") or {}
        assert isinstance(files, dict)  # noqa: S101 - written by `begin`
        found = {}
        for path, copy in files.items():
            with contextlib.suppress(OSError):
                found[str(path)] = (self.folder / PARAMS_DIR / str(copy)).read_bytes()
        return found

    def metrics(self) -> dict[str, object]:
        """The metrics logged so far (``{}`` before the first one)."""
        try:
            values = orjson.loads((self.folder / METRICS).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        return values if isinstance(values, dict) else {}

    def alive(self) -> bool:
        """Whether the run goes on (on another host: assumed so).

        It does while gitexp runs, and also while its command does after gitexp was
        killed alone: the command still logs into this folder, which must stay.
        """
        if self.doc.get("host") != socket.gethostname():
            return True
        if _same_process(self.doc):
            return True
        try:
            command = orjson.loads((self.folder / COMMAND).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return False
        return isinstance(command, dict) and _same_process(command)


def _same_process(doc: dict[str, object]) -> bool:
    pid = doc.get("pid")
    return isinstance(pid, int) and process_stamp(pid) == doc.get("pid_start")


def command_started(folder: Path, pid: int) -> None:
    """Note the command's process in the journal, so the run lives as long as it does."""
    doc = {"pid": pid, "pid_start": process_stamp(pid)}
    atomic_write(folder / COMMAND, orjson.dumps(doc))


def begin(
    folder: Path,
    record: RunRecord,
    *,
    start_tree: str,
    params_as_run: Mapping[str, bytes],
    metrics_file: str | None,
) -> None:
    """Write the journal of a run about to start; the draft ``record`` has status running.

    Written atomically, and before the params are overridden, so whoever finds the
    folder finds either no journal or a whole one.
    """
    copies = folder / PARAMS_DIR
    copies.mkdir(parents=True, exist_ok=True)
    files = {}
    for number, (path, data) in enumerate(params_as_run.items()):
        atomic_write(copies / str(number), data)
        files[path] = str(number)
    pid = os.getpid()
    doc = {
        "version": VERSION,
        "name": record.name,
        "pid": pid,
        "pid_start": process_stamp(pid),
        "host": socket.gethostname(),
        "clock": time.time(),
        "start_tree": start_tree,
        "metrics_file": metrics_file,
        "params": files,
        "record": orjson.loads(record.to_json()),
    }
    atomic_write(folder / RUNNING, orjson.dumps(doc))


def journals(runs: Path) -> Iterator[Journal]:
    """Every readable journal under ``runs`` (unreadable or foreign versions skipped)."""
    try:
        folders = sorted(os.scandir(runs), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in folders:
        journal = read(Path(entry.path))
        if journal is not None:
            yield journal


def read(folder: Path) -> Journal | None:
    """The journal in ``folder``, or None when there is none (yet) or it is not ours."""
    try:
        doc = orjson.loads((folder / RUNNING).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or "name" not in doc:
        return None
    return Journal(folder, doc)


def running_rows(runs: Path) -> list[dict[str, object]]:
    """The ``show --json`` objects of the runs going on now: status running, no commit."""
    return [running_row(journal) for journal in journals(runs) if journal.alive()]


def running_row(journal: Journal) -> dict[str, object]:
    """One running experiment's ``show --json`` object, from its journal."""
    record = journal.record
    baseline = record.get("baseline")
    baseline = baseline if isinstance(baseline, dict) else {}
    params: dict[str, object] = {}
    for path, data in journal.params_as_run().items():
        with contextlib.suppress(GitexpError, TypeError, orjson.JSONEncodeError):
            params[path] = orjson.loads(orjson.dumps(load_mapping(data, path)))
    metrics_file = journal.doc.get("metrics_file")
    values = journal.metrics()
    return {
        "name": journal.name,
        "ref": ExperimentName(journal.name).ref,
        "commit": None,
        "baseline": baseline.get("commit") or "",
        "branch": baseline.get("branch"),
        "created": record.get("started") or "",
        "status": "running",
        "params": params,
        "metrics": {str(metrics_file): values} if metrics_file and values else {},
        "data": {},
    }


def process_stamp(pid: int) -> str | None:
    """Something that names process ``pid`` for its whole life; None if it is gone.

    On Linux, its start time (so a pid reused later is a different process); elsewhere
    only whether a process with that pid exists.
    """
    if os.path.isdir("/proc/self"):
        try:
            with open(f"/proc/{pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            return None
        except OSError:
            return "alive"
        if fields[:1] in ([b"Z"], [b"X"]):
            return None  # dead, only not yet reaped by its parent
        return fields[19].decode() if len(fields) > 19 else "alive"  # starttime
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return "alive"
    return "alive"
