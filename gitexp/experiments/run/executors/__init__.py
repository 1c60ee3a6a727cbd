"""Where queued runs execute: ``local`` worktrees (the default) or a Dask cluster.

``dask`` starts a cluster on this machine whose tasks use worktrees of this
repository; ``dask://HOST:PORT`` uses an existing cluster whose workers share
nothing with this machine but the git remote and the storage remote (`cluster`).

Every executor takes runs the same way (`local.taken`: a lock file, then a
compare-and-swap of refs), so a run is recorded once however often an executor
retries it: a retry finds it taken, or finds its experiment and adopts it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from gitexp.errors import UsageError

if TYPE_CHECKING:  # the run machinery loads with an executor, not with this package
    from gitexp.experiments.run.record import RunResult
    from gitexp.experiments.run.runner import Notify
    from gitexp.project import Project

EXECUTORS = ("local", "dask")


def start(
    project: Project,
    jobs: int,
    executor: str = "local",
    names: Sequence[str] | None = None,
    *,
    notify: Notify | None = None,
    on_result: Callable[[RunResult], None] | None = None,
    stop: threading.Event | None = None,
    git_remote: str | None = None,
) -> list[RunResult]:
    """Run the queue (or only ``names``) on ``executor``; `UsageError` for an unknown one.

    ``git_remote`` is the git remote a ``dask://`` cluster's workers use (default:
    origin, as for ``push``); other executors need none.
    """
    if jobs < 1:
        raise UsageError("-j needs a number of jobs from 1 up")
    check_git_remote(executor, git_remote)
    if executor == "local":
        from gitexp.experiments.run.executors.local import start_local

        return start_local(project, jobs, names, notify=notify, on_result=on_result, stop=stop)
    if executor == "dask":
        from gitexp.experiments.run.executors.dask import start_dask

        return start_dask(project, jobs, names, notify=notify, on_result=on_result, stop=stop)
    if executor.startswith("dask://"):
        from gitexp.experiments.run.executors.cluster import start_cluster

        return start_cluster(
            project, executor, names, notify=notify, on_result=on_result, stop=stop,
            git_remote=git_remote,
        )  # fmt: skip
    raise UsageError(
        f"unknown executor '{executor}'", hint="use --executor local, dask or dask://HOST:PORT"
    )


def check_git_remote(executor: str, git_remote: str | None) -> None:
    """`UsageError` for a git remote named for an executor that uses none (all but ``dask://``)."""
    if git_remote is not None and not executor.startswith("dask://"):
        raise UsageError(
            f"--git-remote names the git remote of a Dask cluster's workers; executor "
            f"'{executor}' runs on this machine and uses none",
            hint="drop --git-remote, or add --executor dask://HOST:PORT",
        )
