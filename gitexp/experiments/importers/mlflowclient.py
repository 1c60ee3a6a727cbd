"""MLflow runs from a tracking server or database, through MLflow's own client.

Only for URIs that are not a file store (``http://``, ``sqlite:``, ``databricks``…):
those need ``gitexp[mlflow]``. Each run's metric history is asked for in full, and its
artifacts are downloaded into a temporary folder that lives as long as the ``with``
block, so they can be stored in the cache like a file store's.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gitexp.errors import StorageError
from gitexp.experiments.importers.mlflowstore import MetricPoint, MlflowRun


@contextlib.contextmanager
def client_runs(uri: str) -> Iterator[list[MlflowRun]]:
    """Every active run at tracking ``uri``; `StorageError` without MLflow or on its errors."""
    try:
        from mlflow.exceptions import MlflowException
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise StorageError(
            f"reading MLflow runs from '{uri}' needs MLflow",
            hint="install it: pip install 'gitexp[mlflow]' (a mlruns folder needs nothing)",
        ) from exc
    with tempfile.TemporaryDirectory(prefix="gitexp-mlflow-") as tmp:
        try:
            client = MlflowClient(tracking_uri=uri)
            runs = [
                _run(client, run, exp.name, Path(tmp))
                for exp in client.search_experiments()
                for run in _all_runs(client, exp.experiment_id)
            ]
        except MlflowException as exc:
            raise StorageError(f"MLflow at '{uri}' failed: {exc.message}") from exc
        yield runs


def _all_runs(client: Any, experiment_id: str) -> Iterator[Any]:
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        yield from page
        token = page.token
        if not token:
            return


def _run(client: Any, run: Any, experiment: str, tmp: Path) -> MlflowRun:
    info, data = run.info, run.data
    history = {
        key: [
            MetricPoint(m.step, m.timestamp, m.value)
            for m in client.get_metric_history(info.run_id, key)
        ]
        for key in data.metrics
    }
    artifacts = None
    if client.list_artifacts(info.run_id):
        artifacts = Path(client.download_artifacts(info.run_id, "", str(tmp / info.run_id)))
    return MlflowRun(
        run_id=info.run_id,
        name=info.run_name or "",
        experiment=experiment,
        status=info.status,
        start_ms=info.start_time,
        end_ms=info.end_time,
        params=dict(data.params),
        metrics=history,
        tags=dict(data.tags),
        artifacts=artifacts,
    )
