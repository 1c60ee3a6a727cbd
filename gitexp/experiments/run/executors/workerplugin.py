"""The Dask worker plugin a cluster's driver registers: a worker ends its orphans as it starts.

A worker killed outright and started again (by its nanny, or by hand in the same
folder) first ends what the killed one left running there (`orphans.end_orphans`),
before any task arrives. Imported only where Dask's distributed is installed.
"""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from gitexp.experiments.run.executors.orphans import end_orphans
from gitexp.experiments.run.executors.worker import worker_folder

NAME = "gitexp-orphans"


class OrphanSweep(WorkerPlugin):
    """Runs `end_orphans` on each worker's folder when the worker starts (or joins)."""

    name = NAME
    idempotent = True
    """Registered again by each driver: once on the scheduler is enough."""

    def setup(self, worker: Any) -> None:
        """End the commands a killed worker left in this worker's folder."""
        end_orphans(worker_folder(worker.local_directory))
