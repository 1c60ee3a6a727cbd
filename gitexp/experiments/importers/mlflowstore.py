"""MLflow's file store (a ``mlruns`` folder), read without MLflow.

Layout: ``<root>/<experiment id>/meta.yaml`` names an experiment;
``<root>/<experiment id>/<run id>/`` holds a run: ``meta.yaml`` (name, status, times,
artifact URI), ``params/<key>`` (the value as text), ``metrics/<key>`` (one line per
logged value: ``timestamp value step``), ``tags/<key>`` and, by default,
``artifacts/``. A key with ``/`` is a nested file. Deleted experiments and runs
(``lifecycle_stage: deleted``, or under ``.trash``) are left out. Anything malformed
is a `FormatError` naming the file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gitexp.core.formats import load_document
from gitexp.errors import FormatError, NotFoundError

STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}


@dataclass(frozen=True, slots=True)
class MetricPoint:
    """One logged value of a metric."""

    step: int
    timestamp: int
    value: float


@dataclass(frozen=True, slots=True)
class MlflowRun:
    """One MLflow run as an import needs it (from a file store or a tracking server)."""

    run_id: str
    name: str
    experiment: str
    status: str
    start_ms: int | None
    end_ms: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, list[MetricPoint]] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: Path | None = None
    """A local folder holding the run's artifacts, or None when it has none."""


def store_folder(uri: str) -> Path | None:
    """The folder of a file-store URI (a path or ``file:``), None for any other URI."""
    if uri.startswith("file:"):
        parts = urlsplit(uri)
        return Path(unquote(parts.netloc + parts.path)).resolve()
    if "://" in uri or uri.split(":", 1)[0] in ("databricks", "sqlite", "postgresql", "mysql"):
        return None
    return Path(uri).resolve()


def read_runs(root: Path) -> list[MlflowRun]:
    """Every active run of every active experiment in the file store at ``root``."""
    if not root.is_dir():
        raise NotFoundError(
            f"'{root}' is not an MLflow file store (no such folder)",
            hint="give the mlruns folder, or a tracking URI",
        )
    runs: list[MlflowRun] = []
    found = False
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        meta = _meta(folder / "meta.yaml")
        if meta is None:
            continue
        found = True
        if meta.get("lifecycle_stage") == "deleted":
            continue
        name = str(meta.get("name") or folder.name)
        for run_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            run = _run(run_dir, name)
            if run is not None:
                runs.append(run)
    if not found:
        raise NotFoundError(
            f"'{root}' is not an MLflow file store: no experiment's meta.yaml in it",
            hint="give the mlruns folder that MLflow wrote (the one holding 0/meta.yaml)",
        )
    return runs


def _meta(path: Path) -> dict[str, object] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    doc = load_document(data, str(path), "yaml")
    if not isinstance(doc, dict):
        raise FormatError(
            f"{path}: MLflow meta.yaml is not a mapping", hint="restore it from a backup"
        )
    return doc


def _run(folder: Path, experiment: str) -> MlflowRun | None:
    meta = _meta(folder / "meta.yaml")
    if meta is None or meta.get("lifecycle_stage") == "deleted":
        return None
    run_id = meta.get("run_id") or meta.get("run_uuid")
    status = meta.get("status")
    if not isinstance(run_id, str) or not run_id or status not in STATUSES:
        raise FormatError(
            f"{folder / 'meta.yaml'}: not an MLflow run's meta.yaml (run_id or status is wrong)",
            hint="restore it from a backup, or move the run out of the store",
        )
    return MlflowRun(
        run_id=run_id,
        name=str(meta.get("run_name") or ""),
        experiment=experiment,
        status=STATUSES[status],
        start_ms=_int(meta.get("start_time")),
        end_ms=_int(meta.get("end_time")),
        params=dict(_texts(folder / "params")),
        metrics={
            key: _points(text, folder / "metrics" / key) for key, text in _texts(folder / "metrics")
        },
        tags=dict(_texts(folder / "tags")),
        artifacts=_artifacts(folder, meta.get("artifact_uri")),
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _texts(folder: Path) -> Iterator[tuple[str, str]]:
    """Each file under ``folder`` as (key: its relative path, its text)."""
    if not folder.is_dir():
        return
    for base, _dirs, files in sorted(os.walk(folder)):
        for name in sorted(files):
            path = Path(base) / name
            yield path.relative_to(folder).as_posix(), path.read_text(encoding="utf-8")


def _points(text: str, path: Path) -> list[MetricPoint]:
    points = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            step = int(fields[2]) if len(fields) > 2 else 0
            point = MetricPoint(step, int(fields[0]), float(fields[1]))
        except (IndexError, ValueError) as exc:
            raise FormatError(f"{path}: line {number} is not 'timestamp value step'") from exc
        if not math.isnan(point.value):
            points.append(point)
    return points


def _artifacts(folder: Path, uri: object) -> Path | None:
    where = store_folder(uri) if isinstance(uri, str) and uri.startswith("file:") else None
    for candidate in (folder / "artifacts", where):
        if candidate is not None and candidate.is_dir() and any(candidate.iterdir()):
            return candidate
    return None
