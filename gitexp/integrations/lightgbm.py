"""LightGBM: ``callbacks=[GitexpCallback()]`` (``lgb.train`` or the scikit-learn API).

Recorded: the training parameters given to LightGBM (objective, learning rate,
leaves, depth, bagging, regularisation …) and the number of boosting rounds as params;
each evaluation metric of each validation set as a series ``<set>/<metric>`` by round,
its last value a metric; the trained booster, saved as ``model.txt`` (``model_path``),
as an out.

LightGBM tells a callback nothing once training ends, so the callback saves the model
after the last round, or when the sweep prunes the trial; if training stopped earlier
(``early_stopping``), it does so when the process exits, or when ``finish()`` is
called.

>>> from gitexp.integrations.lightgbm import GitexpCallback  # doctest: +SKIP
>>> lgb.train(params, train, 100, valid_sets=[valid],  # doctest: +SKIP
...           callbacks=[GitexpCallback()])
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import Any

from gitexp.integrations.recorder import Recorder, plain, require, should_prune

lightgbm = require("lightgbm", "LightGBM", "lightgbm")


class GitexpCallback:
    """Records a LightGBM training as a gitexp experiment (see the module docstring).

    ``name`` names the experiment it opens when it runs outside one; ``model_path``
    is where the trained booster is saved (None: not saved).
    """

    order = 15
    """Before LightGBM's ``early_stopping`` (30), so the round that stops it is logged."""
    before_iteration = False

    def __init__(self, name: str | None = None, model_path: str | None = "model.txt") -> None:
        self.recorder = Recorder(name)
        self.model_path = model_path
        self._booster: Any = None

    def __call__(self, env: Any) -> None:
        """Log one round; at the first, the params; at the last (or pruned), the model."""
        if self._booster is None:
            self._start(env)
        values = {f"{item[0]}/{item[1]}": item[2] for item in env.evaluation_result_list or []}
        self.recorder.metrics(values, step=env.iteration)
        if should_prune():
            self.finish()
            raise lightgbm.callback.EarlyStopException(
                env.iteration, env.evaluation_result_list or []
            )
        if env.iteration + 1 >= env.end_iteration:
            self.finish()

    def _start(self, env: Any) -> None:
        self._booster = env.model
        self.recorder.begin()
        params = {k: plain(v) for k, v in (env.params or {}).items() if _plain_value(v)}
        params["num_boost_round"] = env.end_iteration - env.begin_iteration
        self.recorder.params(params)
        atexit.register(self.finish)

    def finish(self) -> None:
        """Save the booster as an out and close the record (if this opened it); once a training."""
        booster, self._booster = self._booster, None
        if booster is None:
            return
        atexit.unregister(self.finish)
        try:
            if self.model_path is not None:
                Path(self.model_path).parent.mkdir(parents=True, exist_ok=True)
                booster.save_model(self.model_path)
                self.recorder.artifact(self.model_path)
        finally:
            self.recorder.end()


def _plain_value(value: object) -> bool:
    return isinstance(value, (int, float, str, bool)) or (
        isinstance(value, (list, tuple)) and all(isinstance(v, (int, float, str)) for v in value)
    )
