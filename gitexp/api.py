"""The public Python API: `Repo`, the facade the CLI calls and users import.

Each method is one command: one call into the module that does it (whose docstring
states the contract), returning a frozen dataclass, the data the CLI prints as JSON.

>>> repo = gitexp.Repo(".")  # doctest: +SKIP
>>> best = repo.show(sort_by="acc", descending=True, limit=3)  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.git.hookfiles import HOOK_NAMES, READS_STDIN

# Each method imports what it needs: a command loads only its own part of gitexp.
if TYPE_CHECKING:
    import threading

    from gitexp.core.filters import Filter
    from gitexp.core.params import Override
    from gitexp.core.search import SweepOptions
    from gitexp.data.add import Added as Added
    from gitexp.data.checkout import CheckoutResult as CheckoutResult
    from gitexp.data.remotes import RemoteRow as RemoteRow
    from gitexp.data.status import StatusResult as StatusResult
    from gitexp.data.storage import RemoteFsckResult, RemoteGcResult, UpgradeResult
    from gitexp.data.sync import ProgressFn
    from gitexp.data.upkeep import FsckResult as FsckResult
    from gitexp.data.upkeep import GcResult as GcResult
    from gitexp.experiments.apply import ApplyResult as ApplyResult
    from gitexp.experiments.applyplan import ApplyPlan as ApplyPlan
    from gitexp.experiments.importers.result import ImportResult as ImportResult
    from gitexp.experiments.lifecycle.bisect import BisectResult as BisectResult
    from gitexp.experiments.lifecycle.modelget import GetResult as GetResult
    from gitexp.experiments.lifecycle.models import AliasResult as AliasResult
    from gitexp.experiments.lifecycle.models import Model as Model
    from gitexp.experiments.lifecycle.models import ModelVersion as ModelVersion
    from gitexp.experiments.lifecycle.reproduce import ReproduceResult as ReproduceResult
    from gitexp.experiments.query.compare import CompareBest as CompareBest
    from gitexp.experiments.query.compare import CompareResult as CompareResult
    from gitexp.experiments.query.compare import CompareSide as CompareSide
    from gitexp.experiments.query.results import DiffResult as DiffResult
    from gitexp.experiments.query.results import ExperimentRow as ExperimentRow
    from gitexp.experiments.query.results import ListRow as ListRow
    from gitexp.experiments.query.results import ShowResult as ShowResult
    from gitexp.experiments.run.process import OutputSink
    from gitexp.experiments.run.queue import QueuedRun as QueuedRun
    from gitexp.experiments.run.record import RunResult as RunResult
    from gitexp.experiments.run.runner import Notify
    from gitexp.experiments.sync import SyncSummary as SyncSummary
    from gitexp.experiments.tags import TagState as TagState
    from gitexp.git.plumbing import head_commit as head_commit
    from gitexp.hooks import HookResult as HookResult
    from gitexp.hooks import run_hook as run_hook
    from gitexp.hooks.install import HookRow as HookRow
    from gitexp.report.output import PlotsResult as PlotsResult
    from gitexp.report.output import ReportResult as ReportResult
    from gitexp.report.ui.server import UiServer
    from gitexp.storage.transfer import Progress as Progress

# Result types and functions, importable from here at run time too (loaded on first
# use): the module each comes from, and its name there when that differs.
_HOMES = {
    "gitexp.data.add": "Added",
    "gitexp.data.checkout": "CheckoutResult",
    "gitexp.data.remotes": "RemoteRow",
    "gitexp.data.status": "StatusResult",
    "gitexp.data.upkeep": "FsckResult GcResult",
    "gitexp.experiments.apply": "ApplyResult",
    "gitexp.experiments.applyplan": "ApplyPlan",
    "gitexp.experiments.importers.result": "ImportResult",
    "gitexp.experiments.lifecycle.bisect": "BisectResult",
    "gitexp.experiments.lifecycle.modelget": "GetResult",
    "gitexp.experiments.lifecycle.models": "AliasResult Model ModelVersion",
    "gitexp.experiments.lifecycle.reproduce": "ReproduceResult",
    "gitexp.experiments.query.compare": "CompareBest CompareResult CompareSide",
    "gitexp.experiments.query.results": "DiffResult ExperimentRow ListRow ShowResult",
    "gitexp.experiments.run.record": "RunResult",
    "gitexp.experiments.sync": "SyncSummary",
    "gitexp.experiments.tags": "TagState",
    "gitexp.git.plumbing": "head_commit",
    "gitexp.hooks": "HookResult run_hook",
    "gitexp.hooks.install": "HookRow",
    "gitexp.report.output": "PlotsResult ReportResult",
    "gitexp.storage.transfer": "Progress",
}
_LAZY = {
    name: (module, there or name)
    for module, names in _HOMES.items()
    for name, _, there in (word.partition("=") for word in names.split())
}
__all__ = ["HOOK_NAMES", "READS_STDIN", "Repo", *_LAZY]


def __getattr__(name: str) -> object:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'gitexp.api' has no attribute '{name}'")
    import importlib

    value: object = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


class Repo:
    """A gitexp project: the git repository at or above ``path``.

    Raises `NotARepositoryError` when ``path`` is not inside a git working tree.
    """

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        from gitexp.project import Project

        self.project = Project.open(path)
        self.git = self.project.git

    @property
    def root(self) -> Path:
        """The working tree's root folder."""
        return self.project.root

    def init(self) -> list[str]:
        """Write ``gitexp.yaml`` if it is absent; returns the files written."""
        from gitexp.project import init_config

        return init_config(self.root)

    def run(
        self,
        command: Sequence[str] | str | None = None,
        *,
        overrides: Sequence[str | Override] = (),
        name: str | None = None,
        message: str | None = None,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        jobs: int = 1,
        on_output: OutputSink | None = None,
        notify: Notify | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
    ) -> list[RunResult]:
        """Run the command once per grid point, each an experiment (`gitexp run`).

        ``stop`` set ends the run as Ctrl-C does (recorded ``interrupted``, `Interrupted`).

        >>> repo.run(["python", "train.py"], overrides=["lr=0.1,0.01"])  # doctest: +SKIP
        """
        from gitexp.experiments.run import request

        asked = request.RunRequest(command, overrides, name, message, force, cwd, jobs)
        return request.run(
            self.project, asked, on_output=on_output, notify=notify, on_result=on_result,
            env=env, stop=stop,
        )  # fmt: skip

    def sweep(
        self,
        command: Sequence[str] | None = None,
        *,
        overrides: Sequence[str] = (),
        name: str | None = None,
        options: SweepOptions | None = None,
        jobs: int = 1,
        message: str | None = None,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        on_output: OutputSink | None = None,
        notify: Notify | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[RunResult]:
        """Search the space of ``overrides`` (``lr=loguniform(1e-4,1e-1)``), one experiment a trial.

        >>> repo.sweep(overrides=["lr=loguniform(1e-4,1e-1)"],
        ...            options=SweepOptions(trials=20, goal="acc:max"))  # doctest: +SKIP
        """
        from gitexp.core.search import SweepOptions
        from gitexp.experiments.run.sweep import Callbacks, SweepRequest, run_sweep

        where = Path(cwd).resolve() if cwd is not None else None
        request = SweepRequest(
            command, overrides, name, options or SweepOptions(), jobs, message, force, where
        )
        callbacks = Callbacks(on_output, notify, on_result)
        return run_sweep(self.project, request, callbacks, stop=stop)

    def enqueue(
        self,
        command: Sequence[str] | None = None,
        *,
        overrides: Sequence[str] = (),
        name: str | None = None,
    ) -> list[QueuedRun]:
        """Queue each grid point as a commit under ``refs/exps-queue/``; nothing runs."""
        from gitexp.experiments.run.queue import enqueue

        return enqueue(self.project, command, overrides, name)

    def queue_list(self) -> list[QueuedRun]:
        """The queued runs, then those a ``queue start`` is running, oldest first."""
        from gitexp.experiments.run.queue import list_queue

        return list_queue(self.project)

    def queue_remove(self, names: Sequence[str], *, every: bool = False) -> list[str]:
        """Drop queued runs (every one with ``every``); the names dropped."""
        from gitexp.experiments.run.queue import remove_queued

        return remove_queued(self.project, names, every)

    def queue_start(
        self,
        jobs: int = 1,
        *,
        executor: str = "local",
        names: Sequence[str] | None = None,
        notify: Notify | None = None,
        on_result: Callable[[RunResult], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[RunResult]:
        """Run the queue (or ``names`` of it), ``jobs`` at a time on ``executor``; each once."""
        from gitexp.experiments.run.executors import start

        project = self.project
        return start(project, jobs, executor, names, notify=notify, on_result=on_result, stop=stop)

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

    def diff(self, a: str | None = None, b: str | None = None) -> DiffResult:
        """What differs between ``a`` and ``b`` (or ``a``'s baseline), as ``diff --json``."""
        from gitexp.experiments.query import views

        return views.diff(self.project, a, b)

    def list(self, *, notify: Notify | None = None) -> tuple[ListRow, ...]:
        """Name, status, created time, baseline and branch of each experiment, newest first."""
        from gitexp.experiments.query import views

        return views.listing(self.project, notify)

    def remove(
        self, names: Sequence[str] = (), *, failed: bool = False, everything: bool = False
    ) -> builtins.list[str]:
        """Delete experiments by name, every failed one, or all; returns the names removed."""
        from gitexp.experiments import manage

        return manage.remove_chosen(self.project, names, failed=failed, everything=everything)

    def apply(
        self,
        name: str,
        *,
        force: bool = False,
        dry_run: bool = False,
        on_plan: Callable[[ApplyPlan], None] | None = None,
    ) -> ApplyResult:
        """Make the workspace's files match experiment ``name`` (`gitexp apply`)."""
        from gitexp.experiments.apply import apply_named

        return apply_named(self.project, name, force=force, dry_run=dry_run, on_plan=on_plan)

    def branch(self, name: str, branch: str) -> str:
        """Create ``branch`` at experiment ``name``'s commit; returns the commit id."""
        from gitexp.experiments import manage

        return manage.branch(self.git, name, branch)

    def tag(self, name: str, tags: Sequence[str] = (), *, delete: bool = False) -> TagState:
        """Add ``tags`` to experiment ``name`` (``delete``: remove them); its commit stays.

        >>> repo.tag("lr-3", ["best"]).tags  # doctest: +SKIP
        ('best',)
        """
        from gitexp.experiments import tags as tags_mod

        if not tags:
            return tags_mod.note_of(self.git, name)
        edit = tags_mod.remove_tags if delete else tags_mod.add_tags
        return edit(self.git, name, tags)

    def note(self, name: str, text: str | None = None) -> TagState:
        """Experiment ``name``'s note; with ``text``, replace it first (``""`` clears it)."""
        from gitexp.experiments import tags as tags_mod

        if text is None:
            return tags_mod.note_of(self.git, name)
        return tags_mod.set_note(self.git, name, text)

    def add(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        cwd: str | os.PathLike[str] | None = None,
        on_file: Callable[[str, str], None] | None = None,
    ) -> tuple[Added, ...]:
        """Track files or folders by content, relative to ``cwd`` (`gitexp add`)."""
        from gitexp.data.add import add

        return tuple(add(self.project, [os.fspath(p) for p in paths], cwd or self.root, on_file))

    def status(self) -> StatusResult:
        """Each tracked data path's state (``unchanged``, ``modified``, ``missing``, …)."""
        from gitexp.data.status import status

        return status(self.project)

    def checkout(
        self,
        paths: Sequence[str | os.PathLike[str]] = (),
        *,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        on_file: Callable[[str, str], None] | None = None,
    ) -> CheckoutResult:
        """Make the workspace's data match its pointers, all or under ``paths``."""
        from gitexp.data.checkout import checkout

        given = [os.fspath(p) for p in paths]
        return checkout(self.project, given, force=force, cwd=cwd or self.root, on_file=on_file)

    def gc(
        self,
        *,
        workspace: bool = False,
        all_branches: bool = False,
        experiments: bool = False,
        dry_run: bool = False,
        now: bool = False,
        notify: Notify | None = None,
    ) -> GcResult:
        """Remove cache objects nothing needs (`gitexp gc`); what was freed."""
        from gitexp.experiments import manage

        return manage.gc(
            self.project, workspace=workspace, all_branches=all_branches,
            experiments=experiments, dry_run=dry_run, now=now, notify=notify,
        )  # fmt: skip

    def gc_remote(
        self,
        name: str,
        *,
        workspace: bool = False,
        all_branches: bool = False,
        experiments: bool = False,
        dry_run: bool = False,
        now: bool = False,
        credentials: Mapping[str, str] | None = None,
    ) -> RemoteGcResult:
        """Remote gc in two phases (see `gitexp gc --remote`), with local gc's reachability."""
        from gitexp.data import storage
        from gitexp.experiments.manage import gc_scope

        scope = gc_scope(workspace=workspace, all_branches=all_branches, experiments=experiments)
        env = dict(credentials or {})
        return storage.gc_remote(self.project, name, env, scope, dry_run=dry_run, now=now)

    def fsck_remote(
        self, name: str, *, credentials: Mapping[str, str] | None = None, jobs: int | None = None
    ) -> RemoteFsckResult:
        """Verify every pack, index, chunk list and object on storage remote ``name``."""
        from gitexp.data import storage

        return storage.fsck_remote(self.project, name, dict(credentials or {}), jobs)

    def remote_upgrade(
        self, name: str, *, credentials: Mapping[str, str] | None = None, jobs: int | None = None
    ) -> UpgradeResult:
        """Move storage remote ``name`` to layout 2 (packs); idempotent."""
        from gitexp.data import storage

        return storage.upgrade_remote(self.project, name, dict(credentials or {}), jobs)

    def fsck(self, *, jobs: int | None = None) -> FsckResult:
        """Re-hash every cache object; ``corrupt`` ones are moved aside, ``missing`` listed."""
        from gitexp.data import upkeep

        return upkeep.fsck(self.project, jobs=jobs)

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
        from gitexp.experiments.query import views
        from gitexp.report import output as out
        from gitexp.report import page

        out.output_format(output, ("html",))
        view, count = views.report_view(self.project, branches)
        heading = title or f"{self.root.name}: experiments"
        goals = self.project.config.goals
        models = [m.to_json() for m in self.model_list()]
        return page.write_report(view, output, count, heading, branches, goals, models)

    def ui(self, *, host: str = "127.0.0.1", port: int = 8765) -> UiServer:
        """Bind the live UI on ``host:port`` (0: a free port); ``serve()`` runs it.

        Raises `MissingExtraError` without the ``ui`` extra and `UiPortError` when the
        address cannot be bound. See `gitexp.report.ui`.

        >>> repo.ui(port=0).serve()  # doctest: +SKIP
        """
        from gitexp.experiments.query.live import LiveSource
        from gitexp.report.ui.server import open_ui

        return open_ui(LiveSource(self.project), host=host, port=port)

    def push(
        self,
        names: Sequence[str] = (),
        *,
        git_remote: str | None = None,
        everything: bool = False,
        remote: str | None = None,
        jobs: int | None = None,
        force: bool = False,
        data: bool = True,
        credentials: Mapping[str, str] | None = None,
        progress: ProgressFn | None = None,
    ) -> SyncSummary:
        """Push experiments (``names``, ``everything``; none: the current data) and data.

        ``credentials``: environment variables (``os.environ`` will do).

        >>> repo.push(["lr-3"], git_remote="origin")  # doctest: +SKIP
        """
        from gitexp.experiments import sync

        request = sync.SyncRequest.of(
            git_remote, names, everything, force, data, remote, jobs, credentials, progress
        )
        return sync.push_summary(self.project, request)

    def pull(
        self,
        names: Sequence[str] = (),
        *,
        git_remote: str | None = None,
        everything: bool = False,
        remote: str | None = None,
        jobs: int | None = None,
        force: bool = False,
        data: bool = True,
        checkout: bool = True,
        credentials: Mapping[str, str] | None = None,
        progress: ProgressFn | None = None,
    ) -> SyncSummary:
        """Fetch experiments' refs and their data, then check out the current data."""
        from gitexp.experiments import sync

        request = sync.SyncRequest.of(
            git_remote, names, everything, force, data, remote, jobs, credentials, progress
        )
        return sync.pull_summary(self.project, request, checkout=checkout)

    def split_targets(
        self, words: Sequence[str], *, everything: bool = False, pulling: bool = False
    ) -> tuple[str | None, builtins.list[str]]:
        """``[GIT_REMOTE] [NAME…]`` as (git remote or None for origin, names)."""
        from gitexp.data import targets

        return targets.split_targets(
            self.git, words, everything=everything, local_names=not pulling
        )

    def remote_add(
        self,
        name: str,
        url: str,
        *,
        options: Mapping[str, str | int | float | bool] | None = None,
        default: bool = False,
        local: bool = False,
        force: bool = False,
    ) -> Path | None:
        """Declare a storage remote; the local folder its first push will make, if any."""
        from gitexp.data import remotes

        return remotes.add(
            self.project, name, url, options=options, default=default, local=local, force=force
        )

    def remote_list(self) -> tuple[RemoteRow, ...]:
        """Every storage remote: name, redacted URL, whether it is the default, options."""
        from gitexp.data import remotes

        return remotes.listing(self.project)

    def remote_remove(self, name: str) -> None:
        """Forget a storage remote (its stored objects are not touched)."""
        from gitexp.data import remotes

        remotes.remove(self.project, name)

    def remote_default(self, name: str) -> None:
        """Make ``name`` the default storage remote."""
        from gitexp.data import remotes

        remotes.set_default(self.project, name)

    def remote_modify(
        self, name: str, option: str, value: str | int | float | bool | None, *, local: bool = False
    ) -> None:
        """Set (None: unset) one option of a storage remote; secrets only with ``local``."""
        from gitexp.data import remotes

        remotes.modify(self.project, name, option, value, local=local)

    def install_hooks(self) -> tuple[HookRow, ...]:
        """Put gitexp's git hooks where git runs hooks from; a hook there runs first."""
        from gitexp.hooks import install

        return install.install(self.root)

    def uninstall_hooks(self) -> tuple[HookRow, ...]:
        """Remove gitexp's git hooks, putting back exactly the hooks that were there."""
        from gitexp.hooks import install

        return install.uninstall(self.root)

    def hooks_status(self) -> tuple[HookRow, ...]:
        """Each git hook gitexp installs: ``installed``, ``outdated``, ``other`` or ``absent``."""
        from gitexp.hooks import install

        return install.status(self.root)

    def model_register(
        self, name: str, *, experiment: str, path: str | None = None
    ) -> ModelVersion:
        """Register ``experiment``'s out (or ``path``) as the next version of model ``name``.

        >>> repo.model_register("clf", experiment="lr-3").version  # doctest: +SKIP
        1
        """
        from gitexp.experiments.lifecycle import models

        return models.register(self.git, name, experiment, path)

    def model_alias(
        self, name: str, version: int | str, alias: str, *, expect: int | str | None = None
    ) -> AliasResult:
        """Move alias ``alias`` of ``name`` to ``version`` by compare-and-swap (`ConflictError`)."""
        from gitexp.experiments.lifecycle import models

        return models.set_alias(self.git, name, version, alias, expect)

    def model_list(self, name: str | None = None) -> builtins.list[Model]:
        """Every registered model (or ``name``): versions, oldest first, and aliases."""
        from gitexp.experiments.lifecycle import models

        return models.models(self.git, name)

    def model_get(
        self,
        spec: str,
        *,
        output: str | os.PathLike[str] | None = None,
        remote: str | None = None,
        credentials: Mapping[str, str] | None = None,
        force: bool = False,
    ) -> GetResult:
        """Write the model ``NAME``, ``NAME@vN`` or ``NAME:ALIAS`` names, verified.

        From the cache, else from the storage ``remote`` (default: the default one).

        >>> repo.model_get("clf:prod", output="m.pkl")  # doctest: +SKIP
        """
        from gitexp.data.sync import Storage
        from gitexp.experiments.lifecycle import modelget

        target = Path(os.path.abspath(output)) if output is not None else None
        storage = Storage(remote, None, dict(credentials or {}))
        return modelget.get_spec(self.project, spec, target, storage, force=force)

    def reproduce(
        self,
        name: str,
        *,
        tolerance: str | float | None = None,
        new_name: str | None = None,
        executor: str | None = None,
        remote: str | None = None,
        credentials: Mapping[str, str] | None = None,
        notify: Notify | None = None,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
        on_output: OutputSink | None = None,
    ) -> ReproduceResult:
        """Run experiment ``name`` again from its own commit and data, in a worktree.

        ``tolerance``: absolute per metric, or ``"X%"`` relative (default: exact).

        >>> repo.reproduce("lr-3", tolerance="1%").reproduced  # doctest: +SKIP
        True
        """
        from gitexp.core.drift import parse_tolerance
        from gitexp.experiments.lifecycle import rerun
        from gitexp.experiments.lifecycle.reproduce import reproduce

        rerun.check_executor(executor)
        ctx = rerun.context(remote, credentials, notify, env, stop, on_output)
        return reproduce(self.project, name, parse_tolerance(tolerance), ctx, new_name)

    def bisect(
        self,
        good: str,
        bad: str,
        *,
        metric: str,
        threshold: float,
        goal: str | None = None,
        command: Sequence[str] = (),
        executor: str | None = None,
        remote: str | None = None,
        credentials: Mapping[str, str] | None = None,
        notify: Notify | None = None,
        env: Mapping[str, str] | None = None,
        stop: threading.Event | None = None,
        on_output: OutputSink | None = None,
    ) -> BisectResult:
        """The first commit after ``good`` (up to ``bad``) whose ``metric`` crosses ``threshold``.

        Commits with a successful experiment without overrides are judged by it; the
        others are run in worktrees (``command``, else gitexp.yaml's) and recorded.

        >>> repo.bisect("v1.0", "main", metric="acc", threshold=0.9).first_bad  # doctest: +SKIP
        """
        from gitexp.experiments.lifecycle import rerun
        from gitexp.experiments.lifecycle.bisect import Search, bisect

        rerun.check_executor(executor)
        search = Search(metric, float(threshold), rerun.check_goal(goal), tuple(command))
        ctx = rerun.context(remote, credentials, notify, env, stop, on_output)
        return bisect(self.project, good, bad, search, ctx)

    def import_dvc(self, path: str | os.PathLike[str] | None = None) -> ImportResult:
        """Bring in the DVC project at ``path`` (default: the root); see `gitexp import dvc`.

        A relative ``path`` is from the repository root.

        >>> repo.import_dvc().experiments[0].name  # doctest: +SKIP
        """
        from gitexp.experiments.importers.dvc import import_dvc

        return import_dvc(self.project, os.fspath(path) if path is not None else None)

    def import_mlflow(self, uri: str | os.PathLike[str]) -> ImportResult:
        """Bring in the MLflow runs at ``uri`` (a mlruns folder or tracking URI).

        >>> repo.import_mlflow("mlruns").experiments  # doctest: +SKIP
        """
        from gitexp.experiments.importers.mlflow import import_mlflow

        return import_mlflow(self.project, os.fspath(uri))
