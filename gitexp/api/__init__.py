"""The public Python API: `Repo`, the facade the CLI calls and users import.

Each method is one command: one call into the module that does it (whose docstring
states the contract), returning a frozen dataclass, the data the CLI prints as JSON.
The methods live by area in this package (`runs`, `query`, `manage`, `data`); `Repo`
is all of them over one project.

>>> repo = gitexp.Repo(".")  # doctest: +SKIP
>>> best = repo.show(sort_by="acc", descending=True, limit=3)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gitexp.api.base import Calls
from gitexp.api.data import DataCalls
from gitexp.api.manage import ManageCalls
from gitexp.api.query import QueryCalls
from gitexp.api.runs import RunCalls
from gitexp.git.hookfiles import HOOK_NAMES, READS_STDIN

# Each method imports what it needs: a command loads only its own part of gitexp.
if TYPE_CHECKING:
    from gitexp.data.add import Added as Added
    from gitexp.data.checkout import CheckoutResult as CheckoutResult
    from gitexp.data.remotes import RemoteRow as RemoteRow
    from gitexp.data.status import StatusResult as StatusResult
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
    from gitexp.experiments.run.progress import Board as Board
    from gitexp.experiments.run.queue import QueuedRun as QueuedRun
    from gitexp.experiments.run.record import RunResult as RunResult
    from gitexp.experiments.sync import SyncSummary as SyncSummary
    from gitexp.experiments.tags import TagState as TagState
    from gitexp.git.plumbing import head_commit as head_commit
    from gitexp.hooks import HookResult as HookResult
    from gitexp.hooks import run_hook as run_hook
    from gitexp.hooks.install import HookRow as HookRow
    from gitexp.report.output import PlotsResult as PlotsResult
    from gitexp.report.output import ReportResult as ReportResult
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
    "gitexp.experiments.run.progress": "Board",
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


class Repo(RunCalls, QueryCalls, ManageCalls, DataCalls, Calls):
    """A gitexp project: the git repository at or above ``path``.

    Raises `NotARepositoryError` when ``path`` is not inside a git working tree.
    """

    def __init__(self, path: str | os.PathLike[str] = ".") -> None:
        from gitexp.project import Project

        self.project = Project.open(path)
        self.git = self.project.git

    def init(self) -> list[str]:
        """Write ``gitexp.yaml`` if it is absent; returns the files written."""
        from gitexp.project import init_config

        return init_config(self.root)
