"""XGBoost: ``callbacks=[GitexpCallback()]`` (``xgb.train`` or the scikit-learn API).

Recorded: the booster's training parameters as XGBoost itself holds them (objective,
booster, learning rate ``eta``, ``max_depth``, subsampling, regularisation, tree
method …) and the number of boosting rounds as params; each evaluation metric of each
evaluation set as a series ``<set>/<metric>`` by round, its last value a metric; the
trained booster, saved as ``model.json`` (``model_path``), as an out.

>>> from gitexp.integrations.xgboost import GitexpCallback  # doctest: +SKIP
>>> xgb.train(params, dtrain, 50, evals=[(dvalid, "valid")],  # doctest: +SKIP
...           callbacks=[GitexpCallback()])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gitexp.integrations.recorder import Recorder, require, should_prune

xgboost = require("xgboost", "XGBoost", "xgboost")

_KEPT = (
    "objective",
    "booster",
    "eta",
    "max_depth",
    "min_child_weight",
    "subsample",
    "colsample_bytree",
    "colsample_bylevel",
    "lambda",
    "alpha",
    "gamma",
    "max_bin",
    "num_parallel_tree",
    "tree_method",
    "grow_policy",
    "max_leaves",
    "seed",
    "eval_metric",
)
"""The booster's parameters recorded (read from its saved configuration)."""


_Callback: Any = xgboost.callback.TrainingCallback


class GitexpCallback(_Callback):  # type: ignore[misc]  # XGBoost is Any to mypy
    """Records an XGBoost training as a gitexp experiment (see the module docstring).

    ``name`` names the experiment it opens when it runs outside one; ``model_path``
    is where the trained booster is saved (None: not saved).
    """

    def __init__(self, name: str | None = None, model_path: str | None = "model.json") -> None:
        super().__init__()
        self.recorder = Recorder(name)
        self.model_path = model_path

    def before_training(self, model: Any) -> Any:
        """Open the record and log the booster's parameters."""
        self.recorder.begin()
        self.recorder.params(booster_params(model))
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        """Log this round's evaluation results; True (stop) if the sweep prunes the trial."""
        values = {
            f"{data}/{metric}": history[-1]
            for data, metrics in evals_log.items()
            for metric, history in metrics.items()
            if history
        }
        self.recorder.metrics(values, step=epoch)
        return should_prune()

    def after_training(self, model: Any) -> Any:
        """Log the rounds, save the booster as an out, close the record if this opened it."""
        try:
            self.recorder.params({"num_boost_round": model.num_boosted_rounds()})
            if self.model_path is not None:
                Path(self.model_path).parent.mkdir(parents=True, exist_ok=True)
                model.save_model(self.model_path)
                self.recorder.artifact(self.model_path)
        finally:
            self.recorder.end()
        return model


def booster_params(model: Any) -> dict[str, object]:
    """The kept training parameters of a booster, numbers as numbers."""
    config = json.loads(model.save_config())
    found: dict[str, object] = {}
    _collect(config.get("learner", {}), found)
    return {key: _value(found[key]) for key in _KEPT if key in found}


def _collect(node: object, found: dict[str, object]) -> None:
    """Every ``key: value`` of the nested configuration (the first one wins)."""
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if isinstance(value, dict):
            _collect(value, found)
        elif isinstance(value, (str, int, float)):
            found.setdefault(key, value)
        elif key == "metrics" and isinstance(value, list):
            names = [m.get("name") for m in value if isinstance(m, dict)]
            found.setdefault("eval_metric", ",".join(str(n) for n in names) or None)


def _value(text: object) -> object:
    if not isinstance(text, str):
        return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text
