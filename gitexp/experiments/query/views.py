"""What ``show``, ``list``, ``diff`` and ``series`` answer about a project's experiments.

Each function is one command's whole read: `gitexp.Repo` calls it and returns what it
gives. ``show`` and ``list`` see the runs going on now as well as the recorded ones,
after recording as ``crashed`` any run whose process died without a word (section 2
of the design: the next command that finds its journal records it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from gitexp.core.filters import Filter, parse_filter
from gitexp.core.names import QUEUE_REF_PREFIX
from gitexp.errors import NotFoundError, UsageError
from gitexp.experiments.query import select as query
from gitexp.experiments.query.results import DiffResult, ExperimentRow, ListRow, ShowResult
from gitexp.experiments.run import crashed, journal
from gitexp.experiments.run.executors import clusterjournal
from gitexp.git.refs import has_refs
from gitexp.project import Project

if TYPE_CHECKING:
    from gitexp.experiments.query import overview as overview_mod
    from gitexp.experiments.run.runner import Notify


def with_running(project: Project, notify: Notify | None) -> list[dict[str, object]]:
    """Every experiment, crashed runs recorded first, then the runs going on now."""
    for message in crashed.recover(project):
        if notify is not None:
            notify(message)
    running = journal.running_rows(project.layout.runs) + clusterjournal.rows(project)
    return query.project_experiments(project) + running + _queued(project)


def _queued(project: Project) -> list[dict[str, object]]:
    """The queued runs' rows, as ``show`` lists them.

    The queue's module (which loads the run machinery) is imported only when
    something is queued, so a plain ``show`` does not pay for it.
    """
    if not has_refs(project.git, QUEUE_REF_PREFIX):
        return []
    from gitexp.experiments.run.queue import queued_rows

    return queued_rows(project)


def experiments(project: Project) -> tuple[ExperimentRow, ...]:
    """Every recorded experiment, in ref-name order."""
    return tuple(ExperimentRow.of(doc) for doc in query.project_experiments(project))


def show(
    project: Project,
    filters: Sequence[str | Filter],
    q: query.Query,
    notify: Notify | None,
) -> ShowResult:
    """The rows ``show`` prints: filtered, ordered and cut as ``q`` says.

    ``filters`` (text or parsed) replace ``q.filters``. Runs going on now are listed
    too, with status ``running``, no commit, and the latest values they logged; a run
    whose process died is recorded first, as ``crashed`` (``notify`` hears of it).
    Raises `UsageError` for a negative limit and `NotFoundError` for a sort or filter
    key that no experiment has.
    """
    parsed = [f if isinstance(f, Filter) else parse_filter(f) for f in filters]
    if q.limit is not None and q.limit < 0:
        raise UsageError("--limit must be 0 or more")
    rows = with_running(project, notify)
    query.check_keys(rows, [f.key for f in parsed] + ([q.sort_by] if q.sort_by else []))
    return ShowResult.of(query.select(project.git, rows, replace(q, filters=parsed)))


def listing(project: Project, notify: Notify | None) -> tuple[ListRow, ...]:
    """``gitexp list``: every experiment, running ones too, newest first."""
    rows = query.select(project.git, with_running(project, notify), query.Query())
    return tuple(ListRow.of(ExperimentRow.of(row)) for row in rows)


def diff(project: Project, a: str | None, b: str | None) -> DiffResult:
    """``gitexp diff``: ``a`` against ``b``, else against its baseline (``a``: the newest)."""
    from gitexp.experiments.query import diff as diff_mod

    git = project.git
    if a is None:
        if b is not None:
            raise UsageError("give A to diff against B")
        a = query.latest_name(query.project_experiments(project))
    first = diff_mod.resolve(git, a)
    if b is None:
        return diff_mod.diff_sides(git, diff_mod.baseline_of(first), diff_mod.side_of(first))
    second = diff_mod.resolve(git, b)
    return diff_mod.diff_sides(git, diff_mod.side_of(first), diff_mod.side_of(second))


def plot_runs(
    project: Project, names: Sequence[str], selectors: Sequence[str]
) -> tuple[list[overview_mod.Run], list[str]]:
    """The series of experiments ``names`` (none: all), and every name asked about.

    Without names, every experiment, newest first; a name asked about and not among
    the runs had none of the series.
    """
    from gitexp.experiments.query import overview as overview_mod

    rows = query.project_experiments(project)
    picked = (
        query.rows_named(rows, names) if names else query.select(project.git, rows, query.Query())
    )
    runs = overview_mod.plot_runs(project.git, picked, selectors)
    return runs, [str(row["name"]) for row in picked]


def series(
    project: Project, names: Sequence[str], selectors: Sequence[str]
) -> dict[str, dict[str, dict[str, Sequence[float]]]]:
    """``{name: {key: {"steps", "values"}}}``; experiments without the series left out."""
    from gitexp.experiments.query import overview as overview_mod

    rows = query.rows_named(query.project_experiments(project), names)
    runs = overview_mod.plot_runs(project.git, rows, selectors)
    return {
        run.name: {k: {"steps": v.steps, "values": v.values} for k, v in run.series.items()}
        for run in runs
    }


def report_view(project: Project, branches: Sequence[str]) -> tuple[overview_mod.Overview, int]:
    """What the HTML report shows of the experiments on ``branches``, and how many.

    No branches: every experiment. `NotFoundError` when there are none.
    """
    from gitexp.experiments.query import overview as overview_mod

    rows = query.select(
        project.git, query.project_experiments(project), query.Query(branches=branches)
    )
    if not rows:
        where = f" on {', '.join(branches)}" if branches else ""
        raise NotFoundError(
            f"there are no experiments{where} to report", hint="run one with `gitexp run`"
        )
    return overview_mod.overview(project.git, rows, project.store()), len(rows)
