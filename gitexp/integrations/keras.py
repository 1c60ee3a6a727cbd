"""Keras 3: ``model.fit(..., callbacks=[GitexpCallback()])`` records the training.

Recorded: the optimizer (its name, learning rate and settings), epochs and steps per
epoch, the loss and the model's name, layer and parameter counts as params (Keras does
not tell callbacks the batch size: log it with ``gitexp.log_params``); every value in
the epoch's logs (``loss``, ``val_accuracy`` …) as a series, by epoch, its last value a
metric; the trained model, saved as ``model.keras`` (``model_path``), as an out. Any
Keras backend works (JAX, TensorFlow, PyTorch).

>>> from gitexp.integrations.keras import GitexpCallback  # doctest: +SKIP
>>> model.fit(x, y, epochs=5, callbacks=[GitexpCallback()])  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gitexp.integrations.recorder import Recorder, number, plain, require, should_prune

keras = require("keras", "Keras 3", "keras")


_Callback: Any = keras.callbacks.Callback


class GitexpCallback(_Callback):  # type: ignore[misc]  # Keras is Any to mypy
    """Records a Keras training as a gitexp experiment (see the module docstring).

    ``name`` names the experiment this callback opens when it runs outside one;
    ``model_path`` is where the trained model is saved (None: not saved).
    """

    def __init__(self, name: str | None = None, model_path: str | None = "model.keras") -> None:
        super().__init__()
        self.recorder = Recorder(name)
        self.model_path = model_path

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Open the record and log what this training shows of its settings."""
        self.recorder.begin()
        self.recorder.params(_training_params(self.model, self.params or {}))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Log the epoch's metrics; stop training if the sweep prunes this trial."""
        self.recorder.metrics(logs or {}, step=epoch)
        if should_prune():
            self.model.stop_training = True

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        """Save the model as an out and close the record (if this callback opened it)."""
        try:
            if self.model_path is not None:
                Path(self.model_path).parent.mkdir(parents=True, exist_ok=True)
                self.model.save(self.model_path)
                self.recorder.artifact(self.model_path)
        finally:
            self.recorder.end()


def _training_params(model: Any, params: dict[str, Any]) -> dict[str, object]:
    optimizer = getattr(model, "optimizer", None)
    found: dict[str, object] = {
        "epochs": params.get("epochs"),
        "steps_per_epoch": params.get("steps"),
        "loss": _loss_name(getattr(model, "loss", None)),
        "model": {
            "name": getattr(model, "name", type(model).__name__),
            "layers": len(getattr(model, "layers", [])),
            "params": model.count_params() if model.built else None,
        },
    }
    if optimizer is not None:
        found["optimizer"] = type(optimizer).__name__
        found["learning_rate"] = number(keras.ops.convert_to_numpy(optimizer.learning_rate))
        config = optimizer.get_config()
        found["optimizer_params"] = {
            key: plain(value)
            for key, value in config.items()
            if key not in ("name", "learning_rate") and isinstance(value, (int, float, str))
        }
    return found


def _loss_name(loss: object) -> object:
    if loss is None or isinstance(loss, str):
        return loss
    return getattr(loss, "name", None) or getattr(loss, "__name__", None) or str(loss)
