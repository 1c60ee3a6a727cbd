"""The queue: runs recorded now as commits, run later by ``gitexp queue start``.

``gitexp run --queue`` writes each point as a commit ready to run (the workspace's
files, the params with the point's overrides applied, and a ``run.json`` with status
``queued``) on the ref ``refs/exps-queue/<name>``, and returns. The queue is refs,
so it survives anything and travels with git.

``queue start`` takes runs oldest first. Taking one is a compare-and-swap of refs:
one transaction deletes ``refs/exps-queue/<name>`` at the commit it was seen at and
creates ``refs/exps-claimed/<name>``, so of any number of ``queue start`` at once,
one wins each run. The winner holds a lock file for the run while it runs; a claim
whose lock is free was left by a ``queue start`` that was killed, and the next one
runs it again (an experiment already recorded under its name is adopted instead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pygit2

from gitexp.core.formats import unflatten
from gitexp.core.names import (
    CLAIMED_REF_PREFIX,
    QUEUE_REF_PREFIX,
    ExperimentName,
    check_name,
    generate_name,
    sweep_names,
)
from gitexp.core.params import Override, grid, parse_override
from gitexp.core.runinfo import RUN_JSON, RunRecord, iso_utc, parse_run_json, trailers, utc_now
from gitexp.data.pointers import workspace_pointers
from gitexp.errors import ConflictError, GitexpError, NotFoundError, UsageError
from gitexp.experiments.run.environment import host_facts
from gitexp.experiments.run.overrides import plan_params
from gitexp.experiments.run.parallel import users_params
from gitexp.experiments.run.process import check_command, parse_command
from gitexp.git.refs import create_ref, delete_refs, list_refs, read_ref
from gitexp.git.snapshot import snapshot
from gitexp.git.treeedit import with_file
from gitexp.project import Project


@dataclass(frozen=True)
class QueuedRun:
    """One run in the queue: ``queued``, or ``running`` once a ``queue start`` took it."""

    name: str
    commit: str
    status: str
    created: str
    command: tuple[str, ...]
    overrides: dict[str, dict[str, object]]

    def to_json(self) -> dict[str, object]:
        """The ``queue list --json`` object of this run."""
        return {
            "name": self.name,
            "ref": (QUEUE_REF_PREFIX if self.status == "queued" else CLAIMED_REF_PREFIX)
            + self.name,
            "commit": self.commit,
            "status": self.status,
            "created": self.created,
            "command": list(self.command),
            "overrides": self.overrides,
        }


def enqueue(
    project: Project,
    command: Sequence[str] | None,
    overrides: Sequence[str | Override],
    name: str | None,
    sweep: Mapping[str, object] | None = None,
) -> list[QueuedRun]:
    """Queue every point of the overrides' grid; nothing runs. One run per point.

    Checked first, as ``gitexp run`` checks: the command exists, every key exists,
    every name is valid and free (among experiments and queued runs). ``sweep``:
    the search trial this one run is (`SweepPlan.trial_info`), kept in its record.
    """
    base = project.git.head_commit()
    workspace_pointers(project)
    parsed = [o if isinstance(o, Override) else parse_override(o) for o in overrides]
    given = users_params(project)
    plans = [plan_params(project.root, project.config, p, given) for p in grid(parsed)]
    words = parse_command(command or project.config.command or [])
    check_command(words, project.root)
    names = _names(project, name, len(plans))
    queued = []
    for plan, run_name in zip(plans, names, strict=True):
        record = RunRecord(
            name=run_name,
            command=words.recorded,
            overrides=plan.record,
            status="queued",
            exit_code=None,
            started=iso_utc(utc_now()),
            duration_s=0.0,
            baseline_commit=str(base.id),
            baseline_branch=project.git.head_branch(),
            sweep=sweep,
            **host_facts(),
        )
        extra = {**given, **plan.changed, RUN_JSON: record.to_json()}
        tree = snapshot(project.git, base.tree, extra=extra).tree
        message = f"gitexp: queued {run_name}\n\n{trailers(record)}"
        commit = project.git.write_commit(tree, [str(base.id)], message)
        create_ref(project.git, QUEUE_REF_PREFIX + run_name, commit)
        queued.append(_queued(run_name, commit, record, "queued"))
    return queued


def enqueue_tree(project: Project, tree: pygit2.Tree, record: RunRecord) -> QueuedRun:
    """Queue a run prepared elsewhere: ``tree`` as it is to run, with ``record`` as its run.json.

    For runs done again (``reproduce``, ``bisect``) on an executor: the commit's
    parent is the record's baseline, so it runs and records as any queued run.
    `ConflictError` when the name is taken (an experiment or a queued run).
    """
    _names(project, record.name, 1)
    commit_tree = with_file(project.git, tree, RUN_JSON, record.to_json())
    message = f"gitexp: queued {record.name}\n\n{trailers(record)}"
    commit = project.git.write_commit(commit_tree, [record.baseline_commit], message)
    create_ref(project.git, QUEUE_REF_PREFIX + record.name, commit)
    return _queued(record.name, commit, record, "queued")


def _names(project: Project, name: str | None, count: int) -> list[str]:
    def taken(candidate: str) -> bool:
        refs = (ExperimentName(candidate).ref, QUEUE_REF_PREFIX + candidate)
        return any(read_ref(project.git, ref) is not None for ref in refs)

    if name is None:
        chosen: list[str] = []
        for _ in range(count):
            chosen.append(generate_name(lambda n: n in chosen or taken(n)))
        return chosen
    names = [check_name(name)] if count == 1 else sweep_names(name, count)
    for candidate in names:
        if taken(candidate):
            raise ConflictError(
                f"experiment or queued run '{candidate}' already exists",
                hint="pick another name with -n (`gitexp queue list` shows the queue)",
            )
    return names


def _queued(name: str, commit: str, record: RunRecord, status: str) -> QueuedRun:
    overrides = {f: dict(v) for f, v in record.overrides.items()}
    return QueuedRun(name, commit, status, record.started, record.command, overrides)


def list_queue(project: Project) -> list[QueuedRun]:
    """Every queued run, then every run taken and not yet recorded, oldest first."""
    found = []
    for prefix, status in ((QUEUE_REF_PREFIX, "queued"), (CLAIMED_REF_PREFIX, "running")):
        for ref, commit in list_refs(project.git, prefix).items():
            name = ref[len(prefix) :]
            with contextlib.suppress(GitexpError, KeyError):
                found.append(_queued(name, commit, queued_record(project, commit, name), status))
    return sorted(found, key=lambda q: (q.status != "queued", q.created, q.name))


def queued_record(project: Project, commit: str, name: str) -> RunRecord:
    """The ``run.json`` of queued run ``name`` at ``commit``."""
    data = project.git.read_blob(project.git.lookup_commit(commit).tree, RUN_JSON)
    if data is None:
        raise NotFoundError(f"queued run '{name}' has no {RUN_JSON}")
    return parse_run_json(data, f"queued run '{name}'")


def queued_rows(project: Project) -> list[dict[str, object]]:
    """The ``show --json`` objects of queued runs: status queued, no experiment commit."""
    rows: list[dict[str, object]] = []
    for run in list_queue(project):
        if run.status != "queued":
            continue
        rows.append(
            {
                "name": run.name,
                "ref": QUEUE_REF_PREFIX + run.name,
                "commit": None,
                "baseline": str(project.git.lookup_commit(run.commit).parent_ids[0]),
                "branch": None,
                "created": run.created,
                "status": "queued",
                "params": {f: unflatten(v) for f, v in run.overrides.items()},
                "metrics": {},
                "data": {},
            }
        )
    return rows


def remove_queued(project: Project, names: Sequence[str], every: bool = False) -> list[str]:
    """Drop queued runs (not those running); the names removed. `NotFoundError` for unknown."""
    refs = list_refs(project.git, QUEUE_REF_PREFIX)
    if every:
        names = [ref[len(QUEUE_REF_PREFIX) :] for ref in refs]
    if not names and not every:
        raise UsageError("name the queued runs to remove, or use `gitexp queue clear`")
    unknown = [n for n in names if QUEUE_REF_PREFIX + n not in refs]
    if unknown:
        raise NotFoundError(
            f"no queued run named '{unknown[0]}'", hint="`gitexp queue list` shows the queue"
        )
    delete_refs(project.git, [(QUEUE_REF_PREFIX + n, refs[QUEUE_REF_PREFIX + n]) for n in names])
    return list(names)
