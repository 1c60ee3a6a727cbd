"""The public Python API: `Repo`, the facade the CLI calls and users import.

Every method returns plain values (the same data the CLI prints as JSON) and raises
`gitexp.errors.GitexpError` subclasses; long work reports through optional callbacks.

>>> repo = gitexp.Repo(".")  # doctest: +SKIP
>>> best = repo.show(sort_by="acc", descending=True, limit=3)  # doctest: +SKIP
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.errors import NotFoundError, UsageError
from gitexp.git.hookfiles import HOOK_NAMES, READS_STDIN

# Each method imports what it needs, so a command loads only its own part of gitexp
# (a git hook with nothing to do loads this module and little else).
if TYPE_CHECKING:
    import threading

    from gitexp.core.filters import Filter
    from gitexp.core.params import Override
    from gitexp.data.add import Added as Added
    from gitexp.data.checkout import CheckoutResult as CheckoutResult
    from gitexp.data.status import StatusResult as StatusResult
    from gitexp.data.sync import ProgressFn
    from gitexp.data.upkeep import FsckResult as FsckResult
    from gitexp.data.upkeep import GcResult as GcResult
    from gitexp.experiments.apply import ApplyResult as ApplyResult
    from gitexp.experiments.applyplan import ApplyPlan as ApplyPlan
    from gitexp.experiments.importers.result import ImportResult as ImportResult
    from gitexp.experiments.query.compare import CompareBest as CompareBest
    from gitexp.experiments.query.compare import CompareResult as CompareResult
    from gitexp.experiments.query.compare import CompareSide as CompareSide
    from gitexp.experiments.query.diff import DiffResult
    from gitexp.experiments.run.process import OutputSink
    from gitexp.experiments.run.record import RunResult as RunResult
    from gitexp.experiments.run.runner import Notify
    from gitexp.experiments.sync import SyncRequest, SyncResult
    from gitexp.experiments.sync import SyncSummary as SyncSummary
    from gitexp.experiments.tags import TagState as TagState
    from gitexp.hooks import HookResult as HookResult
    from gitexp.project import Project
    from gitexp.report.output import PlotsResult as PlotsResult
    from gitexp.report.output import ReportResult as ReportResult
    from gitexp.storage.transfer import Progress as Progress

# The result types, importable from here at run time too (loaded on first use).
_TYPES = {
    "SyncSummary": "gitexp.experiments.sync",
    "CompareBest": "gitexp.experiments.query.compare",
    "CompareSide": "gitexp.experiments.query.compare",
    "CompareResult": "gitexp.experiments.query.compare",
    "ReportResult": "gitexp.report.output",
    "PlotsResult": "gitexp.report.output",
    "FsckResult": "gitexp.data.upkeep",
    "GcResult": "gitexp.data.upkeep",
    "Added": "gitexp.data.add",
    "CheckoutResult": "gitexp.data.checkout",
    "StatusResult": "gitexp.data.status",
    "ApplyPlan": "gitexp.experiments.applyplan",
    "ApplyResult": "gitexp.experiments.apply",
    "HookResult": "gitexp.hooks",
    "Progress": "gitexp.storage.transfer",
    "RunResult": "gitexp.experiments.run.record",
    "ImportResult": "gitexp.experiments.importers.result",
    "TagState": "gitexp.experiments.tags",
}

__all__ = [
    "HOOK_NAMES",
    "READS_STDIN",
    "Added",
    "ApplyPlan",
    "ApplyResult",
    "CheckoutResult",
    "CompareBest",
    "CompareResult",
    "CompareSide",
    "FsckResult",
    "GcResult",
    "HookResult",
    "ImportResult",
    "PlotsResult",
    "Progress",
    "Repo",
    "ReportResult",
    "RunResult",
    "StatusResult",
    "SyncSummary",
    "TagState",
    "head_commit",
    "run_hook",
    "storage_environment",
]


def __getattr__(name: str) -> type:
    module = _TYPES.get(name)
    if module is None:
        raise AttributeError(f"module 'gitexp.api' has no attribute '{name}'")
    import importlib

    value: type = getattr(importlib.import_module(module), name)
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
        written = []
        from gitexp.core.config import DEFAULT_PROJECT_YAML, PROJECT_CONFIG

        config = self.root / PROJECT_CONFIG
        if not config.exists():
            config.write_text(DEFAULT_PROJECT_YAML)
            written.append(PROJECT_CONFIG)
        return written

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
        """Run the command once per grid point and record each run as an experiment.

        Setting ``stop`` (from a signal handler or another thread) ends the run as
        Ctrl-C does: the command is stopped, the run recorded as ``interrupted`` and
        `Interrupted` raised.

        >>> repo.run(["python", "train.py"], overrides=["lr=0.1,0.01"])  # doctest: +SKIP
        """
        from gitexp.experiments.run.request import RunRequest
        from gitexp.experiments.run.request import run as run_experiments

        words = [command] if isinstance(command, str) else command
        request = RunRequest(
            command=words,
            overrides=overrides,
            name=name,
            message=message,
            force=force,
            cwd=Path(cwd).resolve() if cwd is not None else None,
            jobs=jobs,
        )
        return run_experiments(
            self.project,
            request,
            on_output=on_output,
            notify=notify,
            on_result=on_result,
            env=env,
            stop=stop,
        )

    def experiments(self) -> list[dict[str, object]]:
        """Every experiment as a ``show --json`` object, in name order."""
        from gitexp.experiments.query.select import project_experiments

        return project_experiments(self.project)

    def show(
        self,
        *,
        filters: Sequence[str | Filter] = (),
        sort_by: str | None = None,
        descending: bool = False,
        branches: Sequence[str] = (),
        limit: int | None = None,
        notify: Notify | None = None,
    ) -> dict[str, list[dict[str, object]]]:
        """The experiments, filtered and ordered: ``{"experiments": [...]}``.

        Runs going on now are listed too, with status ``running``, no commit, and
        the latest values they logged; a run whose process died is recorded first,
        as ``crashed`` (``notify`` hears of it). Raises `NotFoundError` when a sort
        or filter key is found in no experiment.
        """
        from gitexp.core.filters import Filter, parse_filter
        from gitexp.experiments.query import select as query

        parsed = [f if isinstance(f, Filter) else parse_filter(f) for f in filters]
        rows = self._with_running(notify)
        keys = [f.key for f in parsed] + ([sort_by] if sort_by else [])
        query.check_keys(rows, keys)
        if limit is not None and limit < 0:
            raise UsageError("--limit must be 0 or more")
        q = query.Query(parsed, sort_by, descending, branches, limit)
        return {"experiments": query.select(self.git, rows, q)}

    def _with_running(self, notify: Notify | None) -> builtins.list[dict[str, object]]:
        """Every experiment, crashed runs recorded first, then the runs going on now."""
        from gitexp.experiments.run import crashed, journal

        for message in crashed.recover(self.project):
            if notify is not None:
                notify(message)
        return self.experiments() + journal.running_rows(self.project.layout.runs)

    def diff(self, a: str | None = None, b: str | None = None) -> DiffResult:
        """What differs between two experiments or commits, as ``diff --json``.

        With ``a`` alone, ``a``'s baseline is the old side; with neither, the latest
        experiment is compared with its baseline.
        """
        from gitexp.experiments.query import diff as diff_mod
        from gitexp.experiments.query import select as query

        if a is None:
            if b is not None:
                raise UsageError("give A to diff against B")
            a = query.latest_name(self.experiments())
        first = diff_mod.resolve(self.git, a)
        if b is None:
            return diff_mod.diff_sides(
                self.git, diff_mod.baseline_of(first), diff_mod.side_of(first)
            )
        second = diff_mod.resolve(self.git, b)
        return diff_mod.diff_sides(self.git, diff_mod.side_of(first), diff_mod.side_of(second))

    def list(self, *, notify: Notify | None = None) -> builtins.list[dict[str, object]]:
        """Name, status, created time, baseline and branch of every experiment, newest first.

        Runs going on now and crashed ones are listed as `show` lists them.
        """
        from gitexp.experiments.query import select as query

        rows = query.select(self.git, self._with_running(notify), query.Query())
        fields = ("name", "status", "created", "baseline", "branch", "commit")
        return [{k: row.get(k) for k in fields} for row in rows]

    def remove(
        self, names: Sequence[str] = (), *, failed: bool = False, everything: bool = False
    ) -> builtins.list[str]:
        """Delete experiments by name, every failed one, or all; returns the names removed."""
        from gitexp.experiments import manage

        chosen = list(names)
        if failed or everything:
            chosen += [
                str(row["name"])
                for row in self.experiments()
                if everything or row.get("status") != "success"
            ]
        if not chosen and (failed or everything):
            return []
        return manage.remove(self.git, list(dict.fromkeys(chosen)))

    def apply(
        self,
        name: str,
        *,
        force: bool = False,
        dry_run: bool = False,
        on_plan: Callable[[ApplyPlan], None] | None = None,
    ) -> ApplyResult:
        """Make the workspace's files match experiment ``name`` (see `gitexp apply`).

        ``on_plan`` gets every change before any is made; ``dry_run`` stops there.
        Refuses over uncommitted work (`UncommittedChangesError`) or files committed
        since the experiment's baseline (`ConflictError`) unless ``force``.

        >>> repo.apply("lr-3", dry_run=True).plan.files  # doctest: +SKIP
        """
        from gitexp.experiments import apply as apply_mod
        from gitexp.experiments import manage

        commit = self.git.lookup_commit(manage.experiment_commit(self.git, name))
        return apply_mod.apply_with_data(
            self.project, commit, name=name, force=force, dry_run=dry_run, on_plan=on_plan
        )

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
        """Track files or folders by content: store them in the cache, write ``PATH.gitexp``.

        Paths are relative to ``cwd`` (default: the repository root). One result per
        path: ``path``, ``pointer``, ``hash``, ``size``, ``kind``, ``files``, ``changed``,
        ``skipped`` (links inside a folder) and ``gitignore`` (the file changed, if any).
        ``on_file(path, file)`` is called as each file is read, from one thread at a time.

        >>> repo.add(["data/train.csv"])[0].hash  # doctest: +SKIP
        'blake3:…'
        """
        from gitexp.data.add import add

        given = [os.fspath(p) for p in paths]
        return tuple(add(self.project, given, cwd or self.root, on_file))

    def status(self) -> StatusResult:
        """Each tracked data path's state (``unchanged``, ``modified``, ``missing``, …).

        >>> repo.status().data[0].state  # doctest: +SKIP
        'unchanged'
        """
        from gitexp.data import status as datastatus

        return datastatus.status(self.project)

    def checkout(
        self,
        paths: Sequence[str | os.PathLike[str]] = (),
        *,
        force: bool = False,
        cwd: str | os.PathLike[str] | None = None,
        on_file: Callable[[str, str], None] | None = None,
    ) -> CheckoutResult:
        """Make the workspace's data match its pointers (all, or those under ``paths``).

        Returns the ``written`` and ``unchanged`` data paths, the ``files`` written,
        what was ``saved`` (stored before ``force`` overwrote it) and ``missing`` (data
        whose objects are not in the cache, left as it was). ``on_file(path, file)`` is
        called as each file is written, possibly from several threads at once.
        """
        from gitexp.data import checkout as datasets

        given = [os.fspath(p) for p in paths]
        return datasets.checkout(
            self.project, given, force=force, cwd=cwd or self.root, on_file=on_file
        )

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
        """Remove cache objects nothing needs (see `gitexp gc`); what was freed.

        Waits for commands storing objects meanwhile, and tells ``notify`` it does.
        """
        from gitexp.data import upkeep
        from gitexp.experiments.manage import gc_scope
        from gitexp.experiments.run.parallel import remove_abandoned_worktrees

        if not dry_run:
            remove_abandoned_worktrees(self.project)

        return upkeep.gc(
            self.project,
            gc_scope(workspace=workspace, all_branches=all_branches, experiments=experiments),
            dry_run=dry_run,
            now=now,
            notify=notify,
        )

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
        """The experiments of two branches (or tags, or commits) side by side.

        For each side: counts, the best by ``metric`` (default: the first key of the
        first metrics file), median and spread; then the params, code files, data and
        artifacts that differ between the two bests (see `gitexp compare`). ``goal``
        (``"max"`` or ``"min"``) says which way is better; without it ``goals:`` in
        gitexp.yaml or the metric's name decides, and `GoalError` is raised when
        neither does. ``descending=True`` is the older spelling of ``goal="max"``.

        >>> repo.compare("feature", "main", metric="acc", goal="max")  # doctest: +SKIP
        """
        from gitexp.core.goals import DIRECTIONS
        from gitexp.experiments.query import compare as compare_mod

        if goal is None and descending:
            goal = "max"
        if goal is not None and goal not in DIRECTIONS:
            raise UsageError(f"goal is {goal!r}; use max or min")
        config = self.project.config
        ranking = compare_mod.Ranking(
            metric=metric,
            goal="max" if goal == "max" else "min" if goal == "min" else None,
            goals=config.goals,
            metrics_files=config.metrics,
        )
        return compare_mod.compare(self.git, self.experiments(), a, b, ranking)

    def series(
        self, names: Sequence[str], selectors: Sequence[str] = ()
    ) -> dict[str, dict[str, dict[str, Sequence[float]]]]:
        """The step series of experiments ``names``: ``{name: {key: {"steps", "values"}}}``.

        Only the series ``selectors`` pick (all without selectors); experiments without
        any are left out. Raises `NotFoundError` for an unknown name or selector.
        """
        from gitexp.experiments.query import overview as overview_mod
        from gitexp.experiments.query import select as query

        rows = query.rows_named(self.experiments(), names)
        runs = overview_mod.plot_runs(self.git, rows, selectors)
        return {
            run.name: {k: {"steps": v.steps, "values": v.values} for k, v in run.series.items()}
            for run in runs
        }

    def plots(
        self,
        names: Sequence[str] = (),
        *,
        output: str | os.PathLike[str],
        metrics: Sequence[str] = (),
    ) -> PlotsResult:
        """Draw the step series of experiments ``names`` (default: all) to ``output``.

        ``.html`` gives an interactive self-contained page, ``.svg`` or ``.png`` an image.
        The file is written whole or not at all. Raises `NotFoundError` for an unknown
        experiment or series, `PathError` when the output folder does not exist.

        >>> repo.plots(["bold-lynx"], metrics=["loss"], output="loss.svg")  # doctest: +SKIP
        """
        from gitexp.experiments.query import overview as overview_mod
        from gitexp.experiments.query import select as query
        from gitexp.report.output import PlotsResult, output_format, write_output
        from gitexp.report.plots import render_plots, require_drawing

        fmt = output_format(output, ("html", "svg", "png"))
        require_drawing(fmt)
        rows = (
            query.rows_named(self.experiments(), names)
            if names
            else query.select(self.git, self.experiments(), query.Query())
        )
        runs = overview_mod.plot_runs(self.git, rows, metrics)
        data = render_plots(runs, fmt, title=f"{self.root.name}: experiment series")
        write_output(output, data)
        keys = list(dict.fromkeys(k for run in runs for k in run.series))
        drawn = {run.name for run in runs}
        return PlotsResult(
            output=str(output),
            format=fmt,
            bytes=len(data),
            experiments=tuple(run.name for run in runs),
            series=tuple(keys),
            without_series=tuple(str(r["name"]) for r in rows if r["name"] not in drawn),
        )

    def report(
        self,
        *,
        output: str | os.PathLike[str],
        branches: Sequence[str] = (),
        title: str | None = None,
    ) -> ReportResult:
        """Write the self-contained HTML report of the experiments to ``output``.

        Every experiment, or those whose baseline is on ``branches``; the file is
        written whole or not at all. Each metric's best successful value is marked by
        its goal (``goals:`` in gitexp.yaml, else its name); one without a goal is not.

        >>> repo.report(output="report.html", branches=["main"])  # doctest: +SKIP
        """
        from gitexp.core.runinfo import iso_utc, utc_now
        from gitexp.experiments.query import overview as overview_mod
        from gitexp.experiments.query import select as query
        from gitexp.report.output import ReportResult, output_format, write_output
        from gitexp.report.page import render_report

        output_format(output, ("html",))
        rows = query.select(self.git, self.experiments(), query.Query(branches=branches))
        if not rows:
            where = f" on {', '.join(branches)}" if branches else ""
            raise NotFoundError(
                f"there are no experiments{where} to report", hint="run one with `gitexp run`"
            )
        view = overview_mod.overview(self.git, rows, self.project.store())
        data = render_report(
            view,
            title=title or f"{self.root.name}: experiments",
            generated=iso_utc(utc_now()),
            branches=branches,
            goals=self.project.config.goals,
        )
        write_output(output, data)
        return ReportResult(output=str(output), bytes=len(data), experiments=len(rows))

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
        """Push experiments (``names`` or ``everything``) and their data.

        Without names, the current commit's data only. ``git_remote``: a remote's
        name, URL or path (None: ``origin``); a name that is not a remote is
        `NotFoundError`, as is an unknown storage ``remote``. ``credentials``:
        environment variables (``os.environ`` will do); the storage remote takes the ones
        its kind reads, such as ``AWS_ACCESS_KEY_ID`` (see `storage_environment`).

        >>> repo.push(["lr-3"], git_remote="origin")  # doctest: +SKIP
        """
        from gitexp.experiments import sync

        request = _sync_request(
            git_remote, names, everything, remote, jobs, force, data, credentials, progress
        )
        return sync.SyncSummary.of(sync.push(self.project, request))

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
        """Fetch experiments' refs (``names`` or ``everything``) and their data, verified.

        Without names, the current commit's data only. Either way the current commit's
        data is then checked out into the workspace, unless ``checkout`` is false.
        Remotes are checked as for `push`.

        >>> repo.pull(["lr-3"], git_remote="origin", data=False)  # doctest: +SKIP
        """
        from gitexp.experiments import sync

        request = _sync_request(
            git_remote, names, everything, remote, jobs, force, data, credentials, progress
        )
        result = sync.pull(self.project, request)
        written = _checkout_pulled(self.project, result) if checkout and data else []
        return sync.SyncSummary.of(result, written)

    def split_targets(
        self, words: Sequence[str], *, everything: bool = False, pulling: bool = False
    ) -> tuple[str | None, builtins.list[str]]:
        """``[GIT_REMOTE] [NAME…]`` as (git remote, names); None for the remote: origin.

        The first word is the git remote when it names one of this repository's
        remotes or is a URL or path (names hold no ``/`` or ``:``); otherwise every
        word is a name and the remote is ``origin``. A first word that can be neither
        is `NotFoundError` (see `gitexp.data.targets.split_targets`).
        """
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
        """Declare a storage remote (in gitexp.yaml, or with ``local`` in the local config).

        Returns the folder the first push will make, for a local one that does not exist
        yet; a local path whose parent folder is missing is `ConfigError`.
        """
        from gitexp.data import remotes as remotes_mod

        return remotes_mod.add(
            self.project, name, url, options=options, default=default, local=local, force=force
        )

    def remote_list(self) -> builtins.list[dict[str, object]]:
        """Every storage remote: name, redacted URL, whether it is the default, options."""
        from gitexp.data import remotes as remotes_mod

        return remotes_mod.listing(self.project)

    def remote_remove(self, name: str) -> None:
        """Forget a storage remote (its stored objects are not touched)."""
        from gitexp.data import remotes as remotes_mod

        remotes_mod.remove(self.project, name)

    def remote_default(self, name: str) -> None:
        """Make ``name`` the default storage remote."""
        from gitexp.data import remotes as remotes_mod

        remotes_mod.set_default(self.project, name)

    def remote_modify(
        self, name: str, option: str, value: str | int | float | bool | None, *, local: bool = False
    ) -> None:
        """Set (None: unset) one option of a storage remote; secrets only with ``local``."""
        from gitexp.data import remotes as remotes_mod

        remotes_mod.modify(self.project, name, option, value, local=local)

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

    def install_hooks(self) -> builtins.list[dict[str, object]]:
        """Put gitexp's git hooks in this repository's hooks folder.

        That is ``core.hooksPath`` when set; a hook already there is kept and runs first.
        Installing twice is a no-op. One row per hook: ``name``, ``state``, ``chained``,
        ``path``, ``done``.
        """
        from gitexp.git import hookfiles, plumbing

        done = hookfiles.install(plumbing.hooks_dir(self.root))
        return [{**state.to_json(), "done": action} for state, action in done]

    def uninstall_hooks(self) -> builtins.list[dict[str, object]]:
        """Remove gitexp's git hooks, putting back exactly the hooks that were there."""
        from gitexp.git import hookfiles, plumbing

        done = hookfiles.uninstall(plumbing.hooks_dir(self.root))
        return [{**state.to_json(), "done": action} for state, action in done]

    def hooks_status(self) -> builtins.list[dict[str, object]]:
        """Each git hook gitexp installs: ``installed``, ``outdated``, ``other`` or ``absent``."""
        from gitexp.git import hookfiles, plumbing

        folder = plumbing.hooks_dir(self.root)
        return [hookfiles.state_of(folder, name).to_json() for name in hookfiles.HOOK_NAMES]


def run_hook(
    name: str,
    args: Sequence[str] = (),
    stdin: str = "",
    *,
    credentials: Callable[[], Mapping[str, str]] = dict,
    data_pushed: bool = False,
    cwd: str | os.PathLike[str] = ".",
) -> HookResult:
    """Run git hook ``name`` (one of `HOOK_NAMES`) as git would, in the repository at ``cwd``.

    ``credentials`` is called only when storage is reached; ``data_pushed`` says the
    push is ``gitexp push``'s own, whose data has moved already. Nothing is printed:
    the result says what to tell the user, and it has ``errors`` when git must stop.
    """
    from gitexp import hooks

    call = hooks.HookCall(name, args, stdin, credentials=credentials, data_pushed=data_pushed)
    return hooks.run(call, cwd)


def head_commit(cwd: str | os.PathLike[str] = ".") -> str | None:
    """The commit HEAD names in the repository at ``cwd``; None before the first commit."""
    from gitexp.git.plumbing import resolve

    return resolve(Path(cwd), "HEAD")


def storage_environment() -> builtins.list[str]:
    """Environment variables a caller may pass to `Repo.push`/`Repo.pull` as credentials."""
    from gitexp.data.remotes import credential_names

    return credential_names()


def _sync_request(
    git_remote: str | None,
    names: Sequence[str],
    everything: bool,
    remote: str | None,
    jobs: int | None,
    force: bool,
    data: bool,
    credentials: Mapping[str, str] | None,
    progress: ProgressFn | None,
) -> SyncRequest:
    """The one request push and pull both build from their keywords."""
    from gitexp.data.sync import Storage
    from gitexp.experiments.sync import SyncRequest

    storage = Storage(remote, jobs, dict(credentials or {}), progress)
    return SyncRequest(git_remote, tuple(names), everything, force, data, storage)


def _checkout_pulled(project: Project, result: SyncResult) -> list[str]:
    """Check the current commit's pulled data out into the workspace.

    Data modified in the workspace that the cache does not hold is never overwritten:
    `UncommittedChangesError` says so (the pulled objects stay in the cache).
    """
    from gitexp.data import checkout as datasets

    if not result.data.checkout:
        return []
    return list(datasets.checkout_pointers(project, dict(result.data.checkout)).written)
