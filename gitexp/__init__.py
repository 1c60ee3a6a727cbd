"""gitexp: git-native data and experiment versioning for machine learning.

The public API, imported lazily so ``import gitexp`` stays cheap:

- ``gitexp.params()``, ``gitexp.log_metric()``, ``gitexp.log_metrics()``,
  ``gitexp.log_artifact()``, ``gitexp.log_image()``: for a training script run by
  ``gitexp run``;
- ``gitexp.Experiment``: record one experiment from Python or a notebook;
- ``gitexp.Repo``: show, diff, run and manage experiments from Python.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gitexp.api import Repo
    from gitexp.errors import GitexpError
    from gitexp.experiments.run.standalone import Experiment
    from gitexp.experiments.run.tracking import (
        log_artifact,
        log_image,
        log_metric,
        log_metrics,
        params,
    )

_EXPORTS = {
    "Repo": "gitexp.api",
    "GitexpError": "gitexp.errors",
    "Experiment": "gitexp.experiments.run.standalone",
    "params": "gitexp.experiments.run.tracking",
    "log_metric": "gitexp.experiments.run.tracking",
    "log_metrics": "gitexp.experiments.run.tracking",
    "log_artifact": "gitexp.experiments.run.tracking",
    "log_image": "gitexp.experiments.run.tracking",
}

__all__ = [
    "Experiment",
    "GitexpError",
    "Repo",
    "__version__",
    "log_artifact",
    "log_image",
    "log_metric",
    "log_metrics",
    "params",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'gitexp' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
