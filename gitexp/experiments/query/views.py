"""What ``show``, ``list``, ``diff`` and ``series`` answer about a project's experiments.

Each function is one command's whole read: `gitexp.Repo` calls it and returns what it
gives. ``show`` and ``list`` see the runs going on now as well as the recorded ones,
after recording as ``crashed`` any run whose process died without a word (section 2
of the design: the next command that finds its journal records it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from operator import itemgetter
from typing import TYPE_CHECKING

from gitexp.core.filters import Filter, parse_filter
from gitexp.core.names import EXPERIMENT_REF_PREFIX, QUEUE_REF_PREFIX
from gitexp.errors import NotFoundError, UsageError
from gitexp.experiments.query import select as query
from gitexp.experiments.query import showjson
from gitexp.git.refs import has_refs
from gitexp.project import Project

if TYPE_CHECKING:
    from gitexp.experiments.query import overview as overview_mod
    from gitexp.experiments.query.results import DiffResult, ExperimentRow, ListRow, ShowResult
    from gitexp.experiments.run.runner import Notify


def with_running(project: Project, notify: Notify | None) -> list[dict[str, object]]:
    """Every experiment, crashed runs recorded first, then the runs going on now."""
    running = _running(project, notify)
    return query.project_experiments(project) + running + _queued(project)


def _running(project: Project, notify: Notify | None) -> list[dict[str, object]]:
    """The rows of the runs going on now, once those whose process died are recorded.

    Local runs come from the runs folder, a ``dask://`` driver's from its own folder
    (`clusterjournal`). With nothing in either there is nothing, and the run
    machinery's modules are not even loaded.
    """
    rows: list[dict[str, object]] = []
    if _holds_something(project.layout.runs):
        from gitexp.experiments.run import crashed, journal

        for message in crashed.recover(project):
            if notify is not None:
                notify(message)
        rows = journal.running_rows(project.layout.runs)
    if _holds_something(project.layout.cluster_runs):
        from gitexp.experiments.run.executors import clusterjournal

        rows += clusterjournal.rows(project)
    return rows


def _holds_something(folder: os.PathLike[str]) -> bool:
    try:
        with os.scandir(folder) as found:
            return next(found, None) is not None
    except (FileNotFoundError, NotADirectoryError):
        return False


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
    from gitexp.experiments.query.results import ExperimentRow

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
    from gitexp.experiments.query.results import ShowResult

    return ShowResult.of(query.select(project.git, rows, replace(q, filters=parsed)))


def show_json(
    project: Project,
    filters: Sequence[str | Filter],
    q: query.Query,
    notify: Notify | None,
    *,
    background: bool = False,
) -> bytes:
    """``show --json``: `show`'s ``to_json()`` as `orjson` dumps it with a 2-space indent.

    The experiments the index holds are printed from its JSON as it is (`showjson`);
    with no filter, sort or branch none of it is even parsed. The entries read from
    commits are kept in the index once the document is made, with ``background`` by
    a process nobody waits for (`index.in_background`). Raises as `show`.
    """
    parsed = [f if isinstance(f, Filter) else parse_filter(f) for f in filters]
    if q.limit is not None and q.limit < 0:
        raise UsageError("--limit must be 0 or more")
    running = _running(project, notify)
    listed = query.project_listing(project)
    others = running + _queued(project)
    if parsed or q.sort_by or q.branches:
        data = showjson.document(_selected(project, listed, others, replace(q, filters=parsed)))
    else:
        data = _newest_first(listed, others, q.limit)
    listed.save(background=background)
    return data


_NAME_AT = len(EXPERIMENT_REF_PREFIX)
"""Where an experiment's name starts in its ref."""


def _newest_first(
    listed: query.Listing, others: list[dict[str, object]], limit: int | None
) -> bytes:
    """The document of the rows in `query.select`'s default order (newest first).

    None of the entries is parsed.
    """
    entries, notes = listed.entries, listed.notes
    if not notes and not others:  # the common case, ten thousand times: no call a row
        # no key to make: the names decide where the start times are equal (a ref, and
        # so its name, is listed once)
        newest = sorted(
            (
                (entries[commit].created, ref[_NAME_AT:], commit)
                for ref, commit in listed.refs.items()
            ),
            reverse=True,
        )
        return showjson.indexed_document(
            ((name, entries[commit].shown) for _created, name, commit in newest[:limit]),
            EXPERIMENT_REF_PREFIX,
        )
    order: list[tuple[str, str, str, str | dict[str, object]]] = [
        (entries[commit].created, ref[_NAME_AT:], ref, commit)
        for ref, commit in listed.refs.items()
    ]
    order += [(str(doc.get("created") or ""), str(doc["name"]), "", doc) for doc in others]
    order.sort(key=itemgetter(0, 1), reverse=True)
    if limit is not None:
        order = order[:limit]
    return showjson.document(
        [
            showjson.doc_row(item)
            if isinstance(item, dict)
            else showjson.indexed_row(name, ref, entries[item].shown, notes.get(item))
            for _created, name, ref, item in order
        ]
    )


def _selected(
    project: Project, listed: query.Listing, others: list[dict[str, object]], q: query.Query
) -> list[bytes]:
    """The rows `show` gives for ``q``, those of the index printed from its JSON."""
    docs = listed.docs()
    indexed = {id(doc) for doc in docs}
    rows = docs + others
    query.check_keys(rows, [f.key for f in q.filters] + ([q.sort_by] if q.sort_by else []))
    entries, notes = listed.entries, listed.notes
    picked = query.select(project.git, rows, q)
    return [
        showjson.indexed_row(
            str(doc["name"]),
            str(doc["ref"]),
            entries[str(doc["commit"])].shown,
            notes.get(str(doc["commit"])),
        )
        if id(doc) in indexed
        else showjson.doc_row(doc)
        for doc in picked
    ]


def listing(project: Project, notify: Notify | None) -> tuple[ListRow, ...]:
    """``gitexp list``: every experiment, running ones too, newest first."""
    from gitexp.experiments.query.results import ExperimentRow, ListRow

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
