"""Commands a killed worker left running: found by their journals, ended with their groups.

A worker of a cluster runs each command in a session (so a process group) of its
own, tethered to the worker (`process.tethered`: the kernel kills the command when
the worker dies). What the command started itself lives on in its group. Each run's
journal in the worker's repository names the worker process that owns it and the
command's process, whose pid is its group's id (`journal.command_started`), so
whoever next starts in the same folder ends the groups of runs whose worker is
gone: a worker as it (re)starts (`OrphanSweep`), and every task before its run.

Such a run is not recorded here: its task runs again elsewhere and is recorded
there, once. Its journal is dropped; the worktree it ran in is removed as abandoned.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
from pathlib import Path

import orjson

from gitexp.experiments.run import journal
from gitexp.project import Layout

REPO_PREFIX = "repo-"
"""A worker's repositories are the folders ``repo-<hash of the git remote URL>``."""


def end_orphans(folder: Path) -> list[str]:
    """End the commands of runs whose worker died, in every repository of ``folder``.

    Returns the names of the runs whose journals were dropped. A run whose worker
    lives (another process sharing the folder, or this one) is never touched, nor a
    journal written on another host. Cheap when nothing was left: one listing per
    repository.
    """
    ended: list[str] = []
    repos: list[Path] = []
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(folder) as entries:
        repos = [Path(e.path) for e in entries if e.name.startswith(REPO_PREFIX) and e.is_dir()]
    for repo in sorted(repos):
        ended += end_orphans_of(Layout.of(repo / ".git").runs)
    return ended


def end_orphans_of(runs: Path) -> list[str]:
    """`end_orphans` for one repository's folder of run journals."""
    ended = []
    for found in journal.journals(runs):
        doc = found.doc
        if doc.get("host") != socket.gethostname() or _alive(doc):
            continue
        command = _command(found.folder)
        if command is not None:
            _end_group(command)
        shutil.rmtree(found.folder, ignore_errors=True)
        ended.append(found.name)
    return ended


def _alive(doc: dict[str, object]) -> bool:
    pid = doc.get("pid")
    return isinstance(pid, int) and journal.process_stamp(pid) == doc.get("pid_start")


def _command(folder: Path) -> dict[str, object] | None:
    try:
        doc = orjson.loads((folder / journal.COMMAND).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("pid"), int) else None


def _end_group(command: dict[str, object]) -> None:
    """SIGKILL the command's process group, unless its pid now names another process.

    The group's id is the command's pid. Its leader may be gone already (killed with
    its worker) while what it started lives on: the group is signalled all the same.
    """
    pid = command["pid"]
    assert isinstance(pid, int)  # noqa: S101 - checked by `_command`
    leader = journal.process_stamp(pid)
    if leader is not None and leader != command.get("pid_start"):
        return  # the pid was reused by a process that is not the command
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def end_command(folder: Path) -> bool:
    """End the command of the run journaled in ``folder`` (its process group); False if none.

    For a run whose worker lives but that must not go on: a resumed search's driver
    ends the trials a killed driver left running past its wait (`sweepcluster`).
    The run's gitexp, if alive, records it as it ended.
    """
    command = _command(folder)
    if command is None:
        return False
    _end_group(command)
    return True
