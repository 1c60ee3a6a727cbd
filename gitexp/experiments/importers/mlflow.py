"""``gitexp import mlflow``: each MLflow run as an experiment.

A run becomes what ``with gitexp.Experiment(params=…)`` would have recorded on the
commit it ran from (its ``mlflow.source.git.commit`` tag, else HEAD, with a note): the
params file with the run's params applied (recorded as its overrides), the metrics
file with each metric's latest value (the highest step, then the latest time, as
MLflow shows it), one series per metric logged more than once under
``.gitexp/series/``, and each top-level artifact content-addressed under
``artifacts/`` as a pointer. The run's tags become its gitexp tags and note (see
`tagging`), and are all kept in ``run.json`` under ``imported.tags``. Everything is
read, and artifacts stored in the cache, before any ref is written; runs imported
before (by run id) are skipped, runs still going on are left for a later import.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from gitexp.cache.add import store_path
from gitexp.cache.gitignore import ignore_line
from gitexp.cache.locks import storing
from gitexp.core.formats import load_mapping
from gitexp.core.metrics import SERIES_HEADER, series_key_path, series_row
from gitexp.core.params import apply_overrides, is_missing, lookup
from gitexp.core.pointer import pointer_path
from gitexp.core.runinfo import SERIES_DIR, Status, iso_utc
from gitexp.core.tagnote import TagNote
from gitexp.errors import NotFoundError
from gitexp.experiments.importers.mlflowstore import MetricPoint, MlflowRun, read_runs, store_folder
from gitexp.experiments.importers.record import (
    SourceRun,
    free_name,
    imported_ids,
    taken_names,
    write_experiment,
)
from gitexp.experiments.importers.result import ImportResult
from gitexp.experiments.importers.tagging import attach_notes, tag_note
from gitexp.experiments.run.tracking import dump_metrics
from gitexp.project import Project

SOURCE = "mlflow"
COMMIT_TAG = "mlflow.source.git.commit"
ARTIFACTS = "artifacts"
_STATUS: dict[str, Status] = {"FINISHED": "success", "FAILED": "failed", "KILLED": "interrupted"}


@dataclass
class _Plan:
    runs: list[tuple[str, SourceRun]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tags: dict[str, TagNote] = field(default_factory=dict)


def import_mlflow(project: Project, uri: str) -> ImportResult:
    """Import every run at ``uri`` (a ``mlruns`` folder, ``file:`` URI or tracking URI).

    Raises `NotFoundError` for a folder that is not a file store, `FormatError` for a
    file in it that does not parse, `StorageError` when a tracking URI needs the
    ``gitexp[mlflow]`` extra; nothing is written then.
    """
    folder = store_folder(uri)
    store = project.store()
    with storing(store.root):
        if folder is not None:
            plan = _plan(project, read_runs(folder))
        else:
            from gitexp.experiments.importers.mlflowclient import client_runs

            with client_runs(uri) as runs:
                plan = _plan(project, runs)
        made = [write_experiment(project.git, run, name) for name, run in plan.runs]
        attach_notes(project.git, {exp.commit: plan.tags[exp.source_id] for exp in made})
    return ImportResult(
        source=SOURCE, experiments=tuple(made), skipped=tuple(plan.skipped), notes=tuple(plan.notes)
    )


def _plan(project: Project, runs: list[MlflowRun]) -> _Plan:
    plan = _Plan()
    done = imported_ids(project.git, SOURCE)
    taken = taken_names(project.git)
    for run in runs:
        if run.run_id in done:
            plan.skipped.append(run.run_id)
        elif run.status not in _STATUS:
            plan.notes.append(f"run {run.run_id} is {run.status.lower()}; import it once it ends")
        else:
            source = _source_run(project, run, plan.notes)
            plan.runs.append((free_name(run.name or run.run_id[:12], taken), source))
            plan.tags[run.run_id] = tag_note(run.tags)
    return plan


def _baseline(project: Project, run: MlflowRun, notes: list[str]) -> str:
    """The commit the run ran from, or HEAD (with a note saying why)."""
    git = project.git
    head = str(git.head_commit().id)
    sha = run.tags.get(COMMIT_TAG)
    if not sha:
        notes.append(f"run {run.run_id} has no {COMMIT_TAG} tag: recorded on HEAD {head[:12]}")
        return head
    try:
        return str(git.resolve_commit(sha).id)
    except NotFoundError:
        notes.append(
            f"run {run.run_id} ran from commit {sha[:12]}, which this repository lacks: "
            f"recorded on HEAD {head[:12]}"
        )
        return head


def _source_run(project: Project, run: MlflowRun, notes: list[str]) -> SourceRun:
    baseline = _baseline(project, run, notes)
    commit = project.git.lookup_commit(baseline)
    files: dict[str, bytes] = {}
    overrides: dict[str, Mapping[str, object]] = {}
    config = project.config
    if run.params and config.params:
        path = config.params[0]
        original = project.git.read_blob(commit.tree, path) or b""
        files[path], overrides[path] = _params(original, path, run.params)
    if run.metrics and config.metrics:
        latest = {key: _latest(points).value for key, points in run.metrics.items() if points}
        files[config.metrics[0]] = dump_metrics(dict(sorted(latest.items())), config.metrics[0])
    files.update(_series(run.metrics))
    files.update(_artifacts(project, run, commit.tree))
    start = run.start_ms or 0
    return SourceRun(
        source=SOURCE,
        source_id=run.run_id,
        name=run.name,
        baseline=baseline,
        start_tree=str(commit.tree.id),
        files=files,
        status=_STATUS[run.status],
        started=iso_utc(dt.datetime.fromtimestamp(start / 1000, dt.timezone.utc)),
        duration_s=max(0, (run.end_ms or start) - start) / 1000,
        branch=run.tags.get("mlflow.source.git.branch"),
        command=(run.tags["mlflow.source.name"],) if run.tags.get("mlflow.source.name") else (),
        overrides=overrides,
        details={"experiment": run.experiment, "run_name": run.name, "tags": dict(run.tags)},
    )


def _params(
    original: bytes, path: str, params: Mapping[str, str]
) -> tuple[bytes, dict[str, object]]:
    """The params file with the run's params applied (added where missing)."""
    doc = load_mapping(original, path) if original.strip() else {}
    values = {key: _scalar(text) for key, text in sorted(params.items())}
    changes = {key: (value, is_missing(lookup(doc, key))) for key, value in values.items()}
    return apply_overrides(original, path, changes), values


def _scalar(text: str) -> object:
    """A param's text as MLflow logged it: an int or float when it reads as one."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _latest(points: list[MetricPoint]) -> MetricPoint:
    return max(points, key=lambda p: (p.step, p.timestamp))


def _series(metrics: Mapping[str, list[MetricPoint]]) -> dict[str, bytes]:
    """One TSV series per metric logged more than once (or at a step other than 0)."""
    files: dict[str, bytes] = {}
    for key, points in metrics.items():
        if len(points) < 2 and all(p.step == 0 for p in points):
            continue
        rows = sorted(points, key=lambda p: (p.step, p.timestamp))
        files[f"{SERIES_DIR}/{series_key_path(key)}"] = SERIES_HEADER + b"".join(
            series_row(p.step, p.value) for p in rows
        )
    return files


def _artifacts(project: Project, run: MlflowRun, tree: object) -> dict[str, bytes]:
    """A pointer per top-level artifact (file or folder), stored in the cache now."""
    if run.artifacts is None:
        return {}
    store = project.store()
    files: dict[str, bytes] = {}
    lines: list[str] = []
    for entry in sorted(run.artifacts.iterdir()):
        data = f"{ARTIFACTS}/{entry.name}"
        files[pointer_path(data)] = store_path(store, entry).dump()
        lines.append(ignore_line(entry.name))
    files[f"{ARTIFACTS}/.gitignore"] = ("\n".join(lines) + "\n").encode()
    return files
