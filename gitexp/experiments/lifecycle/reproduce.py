"""``gitexp reproduce NAME``: run an experiment again from its own commit, and compare.

The run starts from the experiment's commit (its code and params as they ran, with
its overrides), with its own results taken out and put back as its baseline had
them, so the new run has to write its metrics, series and outs itself. Its data is
the exact version the commit points to, from the cache or the storage remote. It is
recorded as a new experiment on the same baseline, whose ``run.json`` names the run
it reproduces; each metric is compared within a tolerance, and every difference in
Python, platform and packages between the two runs is listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pygit2

from gitexp.core.config import ProjectConfig
from gitexp.core.drift import (
    EnvChange,
    MetricDrift,
    Tolerance,
    compare_metrics,
    environment_changes,
)
from gitexp.core.names import check_name
from gitexp.core.pointer import pointer_path
from gitexp.core.results import JsonResult
from gitexp.core.runinfo import RUN_DIR, RUN_JSON, RunRecord, parse_run_json
from gitexp.errors import FormatError
from gitexp.experiments.lifecycle.oncluster import on_executor
from gitexp.experiments.lifecycle.rerun import (
    Context,
    Rerun,
    command_of,
    run_again,
)
from gitexp.experiments.manage import experiment_commit
from gitexp.experiments.query.summary import Reader
from gitexp.git.repo import GitRepo
from gitexp.git.treeedit import with_paths_from
from gitexp.project import Project, config_at


@dataclass(frozen=True, slots=True)
class ReproduceResult(JsonResult):
    """The run done again and how it compares: ``reproduced`` when all is within tolerance."""

    name: str
    commit: str
    experiment: str
    """The new experiment, which records the run done again."""
    experiment_commit: str
    status: str
    original_status: str
    tolerance: str
    metrics: tuple[MetricDrift, ...]
    environment: tuple[EnvChange, ...]

    @property
    def reproduced(self) -> bool:
        """The new run ended as the original did, every metric within the tolerance."""
        return self.status == self.original_status and all(m.within for m in self.metrics)

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "name": self.name,
            "commit": self.commit,
            "experiment": self.experiment,
            "experiment_commit": self.experiment_commit,
            "status": self.status,
            "original_status": self.original_status,
            "tolerance": self.tolerance,
            "reproduced": self.reproduced,
            "metrics": [m.to_json() for m in self.metrics],
            "environment": [c.to_json() for c in self.environment],
        }


def reproduce(
    project: Project,
    name: str,
    tolerance: Tolerance,
    ctx: Context,
    new_name: str | None = None,
) -> ReproduceResult:
    """Run experiment ``name`` again in a worktree and compare the two runs.

    Raises `NotFoundError` for an unknown experiment or data found nowhere (nothing
    runs then), `FormatError` for a commit without a readable ``run.json``.
    """
    git = project.git
    commit_id = experiment_commit(git, name)
    commit = git.lookup_commit(commit_id)
    record = run_record(git, commit)
    base = git.lookup_commit(record.baseline_commit or str(commit.parent_ids[0]))
    config = config_at(git, commit.tree)
    tree = with_paths_from(git, commit.tree, base.tree, result_paths(config))
    start = git.lookup_commit(git.write_commit(tree, [str(base.id)], f"gitexp: reproduce {name}\n"))
    rerun = Rerun(
        name=check_name(new_name) if new_name else f"{name}-repro",
        base=base,
        start=start,
        config=config,
        command=command_of(record.command, config),
        overrides=record.overrides,
        message=f"reproduce {name}",
        reproduces={"name": name, "commit": commit_id},
        numbered=not new_name,
    )
    with on_executor(project, ctx) as on_cluster:
        result = run_again(project, rerun, on_cluster)
    again = run_record(git, git.lookup_commit(result.commit))
    reader = Reader(git)
    metrics = compare_metrics(
        _metrics(reader.summary(commit_id)), _metrics(reader.summary(result.commit)), tolerance
    )
    return ReproduceResult(
        name=name,
        commit=commit_id,
        experiment=result.name,
        experiment_commit=result.commit,
        status=result.status,
        original_status=record.status,
        tolerance=tolerance.describe(),
        metrics=tuple(metrics),
        environment=tuple(environment_changes(_environment(record), _environment(again))),
    )


def result_paths(config: ProjectConfig) -> list[str]:
    """What a run writes, so a run done again must write it anew: metrics, series, outs."""
    outs = [p for out in config.outs for p in (out, pointer_path(out))]
    return [RUN_DIR, *config.metrics, *config.plots, *outs]


def run_record(git: GitRepo, commit: pygit2.Commit) -> RunRecord:
    """The ``run.json`` of an experiment commit; `FormatError` when it has none."""
    data = git.read_blob(commit.tree, RUN_JSON)
    if data is None:
        raise FormatError(
            f"commit {str(commit.id)[:12]} has no {RUN_JSON}, so it is not an experiment "
            "gitexp can run again",
            hint="see `gitexp list` for experiments",
        )
    return parse_run_json(data, str(commit.id)[:12])


def _metrics(summary: Mapping[str, object]) -> dict[str, Mapping[str, object]]:
    found = summary.get("metrics")
    if not isinstance(found, dict):
        return {}
    return {str(k): v for k, v in found.items() if isinstance(v, Mapping)}


def _environment(record: RunRecord) -> dict[str, object]:
    return {
        "python": record.python,
        "platform": record.platform,
        "host": record.host,
        "packages": dict(record.packages),
    }
