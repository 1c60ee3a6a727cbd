"""Metric values commits already have: successful experiments run without overrides.

Such an experiment measured the commit as it is, so ``bisect`` can judge the commit
by it without running anything. An experiment with overrides measured something
else, and a failed one measured nothing: neither counts. Of several, the latest is
taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gitexp.core.drift import flatten
from gitexp.errors import GitexpError
from gitexp.experiments.lifecycle.reproduce import run_record
from gitexp.experiments.query.select import project_experiments
from gitexp.project import Project


@dataclass(frozen=True, slots=True)
class Known:
    """A commit's metric value, and the experiment that measured it."""

    value: float
    experiment: str


def metric_of(summary: Mapping[str, object], key: str) -> float | None:
    """The number at ``key`` (``FILE:KEY`` or a dotted key) in a summary's metrics, or None."""
    files = summary.get("metrics")
    if not isinstance(files, Mapping):
        return None
    file, sep, inner = key.partition(":")
    for name, doc in files.items():
        if not isinstance(doc, Mapping) or (sep and name != file):
            continue
        value = flatten(doc).get(inner if sep else key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def known_values(project: Project, commits: set[str], metric: str) -> dict[str, Known]:
    """Commit → the latest successful experiment without overrides that has ``metric``."""
    git = project.git
    found: dict[str, tuple[str, Known]] = {}
    for row in project_experiments(project):
        baseline = str(row.get("baseline") or "")
        if baseline not in commits or row.get("status") != "success":
            continue
        value = metric_of(row, metric)
        if value is None:
            continue
        try:
            record = run_record(git, git.lookup_commit(str(row["commit"])))
        except GitexpError:
            continue
        if any(record.overrides.values()):
            continue
        created = str(row.get("created") or "")
        if baseline not in found or created > found[baseline][0]:
            found[baseline] = (created, Known(value, str(row["name"])))
    return {commit: known for commit, (_created, known) in found.items()}
