"""Reading experiments: the table, diffs, comparisons, plots, the report and the UI.

One part of `gitexp.Repo`; each method is one call into the module that does it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gitexp.api.base import Calls

if TYPE_CHECKING:
    from gitexp.core.filters import Filter
    from gitexp.experiments.query.compare import CompareResult
    from gitexp.experiments.query.results import DiffResult, ExperimentRow, ListRow, ShowResult
    from gitexp.experiments.run.runner import Notify
    from gitexp.report.output import PlotsResult, ReportResult
    from gitexp.report.ui.server import UiServer


class QueryCalls(Calls):
    """`Repo`'s calls for this part (see the module)."""

    def experiments(self) -> tuple[ExperimentRow, ...]:
        """Every experiment as ``show`` lists it (running ones aside), in name order."""
        from gitexp.experiments.query import views

        return views.experiments(self.project)

    def show(
        self,
        *,
        filters: Sequence[str | Filter] = (),
        sort_by: str | None = None,
        descending: bool = False,
        branches: Sequence[str] = (),
        limit: int | None = None,
        notify: Notify | None = None,
    ) -> ShowResult:
        """The experiments, filtered and ordered, running ones too (`gitexp show`).

        >>> repo.show(filters=["acc>0.9"], sort_by="loss", limit=3)  # doctest: +SKIP
        """
        from gitexp.experiments.query import views
        from gitexp.experiments.query.select import Query

        q = Query((), sort_by, descending, branches, limit)
        return views.show(self.project, filters, q, notify)

    def show_json(
        self,
        *,
        filters: Sequence[str | Filter] = (),
        sort_by: str | None = None,
        descending: bool = False,
        branches: Sequence[str] = (),
        limit: int | None = None,
        notify: Notify | None = None,
        background_index: bool = False,
    ) -> bytes:
        """``gitexp show --json``: the bytes of `show`'s ``to_json()``, indented by 2.

        The same as ``orjson.dumps(repo.show(...).to_json(), option=orjson.OPT_INDENT_2)``,
        made without a row object per experiment, for ten thousand experiments.
        ``background_index``: experiments read from their commits (a fresh clone's)
        are written to the summary index by a process of its own that nobody waits
        for, as the CLI does, instead of before this returns.

        >>> data = repo.show_json(sort_by="loss", limit=3)  # doctest: +SKIP
        """
        from gitexp.experiments.query import views
        from gitexp.experiments.query.select import Query

        q = Query((), sort_by, descending, branches, limit)
        return views.show_json(self.project, filters, q, notify, background=background_index)

    def diff(self, a: str | None = None, b: str | None = None) -> DiffResult:
        """What differs between ``a`` and ``b`` (or ``a``'s baseline), as ``diff --json``."""
        from gitexp.experiments.query import views

        return views.diff(self.project, a, b)

    def list(self, *, notify: Notify | None = None) -> tuple[ListRow, ...]:
        """Name, status, created time, baseline and branch of each experiment, newest first."""
        from gitexp.experiments.query import views

        return views.listing(self.project, notify)

    def compare(
        self,
        a: str,
        b: str,
        *,
        metric: str | None = None,
        goal: str | None = None,
        descending: bool = False,
    ) -> CompareResult:
        """The experiments of two branches side by side (`gitexp compare`)."""
        from gitexp.experiments.query.compare import compare_project

        wanted = "max" if goal is None and descending else goal
        return compare_project(self.project, a, b, metric, wanted)

    def series(
        self, names: Sequence[str], selectors: Sequence[str] = ()
    ) -> dict[str, dict[str, dict[str, Sequence[float]]]]:
        """The step series ``selectors`` pick (all without) of experiments ``names``."""
        from gitexp.experiments.query import views

        return views.series(self.project, names, selectors)

    def plots(
        self,
        names: Sequence[str] = (),
        *,
        output: str | os.PathLike[str],
        metrics: Sequence[str] = (),
    ) -> PlotsResult:
        """Draw the step series of experiments ``names`` (all without) to ``output``."""
        from gitexp.experiments.query import views
        from gitexp.report import plots

        fmt = plots.plots_format(output)
        runs, asked = views.plot_runs(self.project, names, metrics)
        title = f"{self.root.name}: experiment series"
        return plots.write_plots(runs, asked, output, fmt, title)

    def report(
        self,
        *,
        output: str | os.PathLike[str],
        branches: Sequence[str] = (),
        title: str | None = None,
    ) -> ReportResult:
        """Write the HTML report of the experiments (on ``branches``) to ``output``."""
        from gitexp.experiments.lifecycle import models as registry
        from gitexp.experiments.query import views
        from gitexp.report import output as out
        from gitexp.report import page

        out.output_format(output, ("html",))
        view, count = views.report_view(self.project, branches)
        heading = title or f"{self.root.name}: experiments"
        goals = self.project.config.goals
        models = [m.to_json() for m in registry.models(self.git, None)]
        return page.write_report(view, output, count, heading, branches, goals, models)

    def ui(self, *, host: str = "127.0.0.1", port: int = 8765) -> UiServer:
        """Bind the live UI on ``host:port`` (0: a free port); ``serve()`` runs it.

        Raises `MissingExtraError` without the ``ui`` extra and `UiPortError` when the
        address cannot be bound. See `gitexp.report.ui`.

        >>> repo.ui(port=0).serve()  # doctest: +SKIP
        """
        from gitexp.experiments.liveview import CachedSource
        from gitexp.report.ui.server import open_ui

        source = CachedSource(self.project)
        server = open_ui(source, host=host, port=port)
        source.read_ahead()  # bound: a fresh clone's experiments are read from now on
        return server
