"""Keras 3 (on the PyTorch backend): the callback records params, epochs, metrics, model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.integrations.conftest import framework, run_script, series_rows, tree_files

os.environ.setdefault("KERAS_BACKEND", "torch")
framework("torch")
framework("keras")

FIT = """\
import numpy as np
import keras
from gitexp.integrations.keras import GitexpCallback

keras.utils.set_random_seed(0)
x = np.random.rand(64, 4).astype("float32")
y = (x.sum(axis=1) > 2).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")], name="tiny")
model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
              loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0,
          callbacks=[GitexpCallback()])
"""


def test_keras_fit_under_gitexp_run(repo: Path) -> None:
    shown = run_script(repo, "keras-run", FIT)
    assert shown["status"] == "success"
    params = shown["params"][".gitexp/params.yaml"]  # type: ignore[index]
    assert params["optimizer"] == "Adam"
    assert params["learning_rate"] == pytest.approx(0.01)
    assert params["epochs"] == 3 and params["steps_per_epoch"] == 3
    assert params["loss"] == "binary_crossentropy"
    assert params["model"] == {"name": "tiny", "layers": 2, "params": 4 * 8 + 8 + 8 + 1}
    metrics = shown["metrics"]["metrics.json"]  # type: ignore[index]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(metrics)
    loss = series_rows(repo, "keras-run", "loss")
    assert [step for step, _ in loss] == [0, 1, 2]
    assert metrics["loss"] == pytest.approx(loss[-1][1])
    assert "model.keras.gitexp" in tree_files(repo, "keras-run")
    assert "model.keras" in shown["data"]  # type: ignore[operator]
