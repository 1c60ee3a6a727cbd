"""Writing a run read from another tool as a gitexp experiment: one commit, one ref.

The commit is what `gitexp run` would have made: its one parent is the baseline, its
tree the baseline's (or the source's own commit's) plus the params, metrics, series
and pointer files the source recorded, and ``.gitexp/run.json``. ``run.json`` names
the source under ``imported`` (``{"from": "dvc"|"mlflow", "id": …}``): that is how a
second import knows a run it has brought in already, whatever name it was given. The
ref is created only if it does not exist, so nothing is ever overwritten.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import orjson

from gitexp.core.formats import to_json_value
from gitexp.core.names import EXPERIMENT_REF_PREFIX, ExperimentName
from gitexp.core.runinfo import RUN_JSON, RunRecord, Status, trailers
from gitexp.experiments.importers.result import ImportedExperiment
from gitexp.git.refs import create_ref, list_refs
from gitexp.git.repo import GitRepo
from gitexp.git.snapshot import tree_with

IMPORTED = "imported"
"""The key of ``run.json`` that names where an imported experiment came from."""
_NAME_MAX = 100
_BAD = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class SourceRun:
    """A run read from another tool, ready to be written as an experiment."""

    source: str
    source_id: str
    name: str
    baseline: str
    start_tree: str
    files: Mapping[str, bytes]
    status: Status = "success"
    started: str = ""
    duration_s: float = 0.0
    branch: str | None = None
    command: tuple[str, ...] = ()
    overrides: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    details: Mapping[str, object] = field(default_factory=dict)


def imported_ids(git: GitRepo, source: str) -> dict[str, str]:
    """The source ids of experiments imported from ``source`` before, with their names.

    Read from each experiment's ``run.json``; one that is missing or unreadable is an
    experiment of gitexp's own, not an import.
    """
    found: dict[str, str] = {}
    for ref, commit in list_refs(git, EXPERIMENT_REF_PREFIX).items():
        data = git.read_blob(git.lookup_commit(commit).tree, RUN_JSON)
        if data is None:
            continue
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            continue
        origin = doc.get(IMPORTED) if isinstance(doc, dict) else None
        if isinstance(origin, dict) and origin.get("from") == source:
            found[str(origin.get("id"))] = ref[len(EXPERIMENT_REF_PREFIX) :]
    return found


def taken_names(git: GitRepo) -> set[str]:
    """Every experiment name in use."""
    return {ref[len(EXPERIMENT_REF_PREFIX) :] for ref in list_refs(git, EXPERIMENT_REF_PREFIX)}


def free_name(wanted: str, taken: set[str]) -> str:
    """``wanted`` made a valid experiment name, with ``-2``, ``-3``… if it is taken.

    The name chosen is added to ``taken``, so one import never gives a name twice.
    """
    base = _BAD.sub("-", wanted).strip("-.")[: _NAME_MAX - 6].rstrip(".") or "imported"
    if base.endswith(".lock"):
        base = base[: -len(".lock")] or "imported"
    base = base.replace("..", "-")
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}-{number}"
    taken.add(name)
    return name


def run_json(run: SourceRun, name: str) -> tuple[RunRecord, bytes]:
    """The run's record and the bytes of its ``run.json``, with ``imported`` added."""
    record = RunRecord(
        name=name,
        command=run.command,
        overrides=run.overrides,
        status=run.status,
        exit_code=0 if run.status == "success" else None,
        started=run.started,
        duration_s=run.duration_s,
        baseline_commit=run.baseline,
        baseline_branch=run.branch,
    )
    doc = orjson.loads(record.to_json())
    doc[IMPORTED] = {"from": run.source, "id": run.source_id, **run.details}
    return record, orjson.dumps(to_json_value(doc), option=orjson.OPT_INDENT_2) + b"\n"


def write_experiment(git: GitRepo, run: SourceRun, name: str) -> ImportedExperiment:
    """Write ``run`` as experiment ``name``: its commit, then its ref (create-only).

    Raises `ConflictError` if the name was taken meanwhile; the commit is then on no ref.
    """
    record, data = run_json(run, name)
    tree = tree_with(git, run.start_tree, {**run.files, RUN_JSON: data})
    title = f"gitexp: {name} (imported from {run.source} {run.source_id})"
    commit = git.write_commit(tree, [run.baseline], f"{title}\n\n{trailers(record)}")
    create_ref(git, ExperimentName(name).ref, commit)
    return ImportedExperiment(name, run.source_id, commit)
