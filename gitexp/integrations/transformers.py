"""Hugging Face Transformers: ``Trainer(..., callbacks=[GitexpCallback()])`` records training.

Recorded: the ``TrainingArguments`` that shape training (learning rate, batch size,
epochs, max steps, optimizer, scheduler, warm-up, weight decay, seed …) and the
model's class, type, parameter count and the plain values of its config as params;
every value the Trainer logs (``loss``, ``eval_loss``, ``learning_rate`` …) as a
series by global step, its last value a metric; the final model, saved with
``save_pretrained`` into ``<output_dir>/final`` (``model_dir``), as an out.

>>> from gitexp.integrations.transformers import GitexpCallback  # doctest: +SKIP
>>> trainer = Trainer(model=model, args=args, train_dataset=ds,  # doctest: +SKIP
...                   callbacks=[GitexpCallback()])
"""

from __future__ import annotations

import os
from typing import Any

from gitexp.integrations.recorder import Recorder, plain, require, should_prune

transformers = require("transformers", "Transformers", "transformers")

ARGUMENTS = (
    "learning_rate",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "num_train_epochs",
    "max_steps",
    "optim",
    "lr_scheduler_type",
    "warmup_steps",
    "weight_decay",
    "adam_beta1",
    "adam_beta2",
    "adam_epsilon",
    "max_grad_norm",
    "seed",
)
"""The ``TrainingArguments`` recorded as params."""
_SKIPPED = {"epoch", "total_flos"}
"""Logged values that are bookkeeping rather than metrics."""


_Callback: Any = transformers.TrainerCallback


class GitexpCallback(_Callback):  # type: ignore[misc]  # Transformers is Any to mypy
    """Records a ``Trainer`` run as a gitexp experiment (see the module docstring).

    ``name`` names the experiment it opens when it runs outside one; ``model_dir``
    is where the final model is saved (default ``<output_dir>/final``; None: with
    ``save_model=False``, not saved).
    """

    def __init__(
        self, name: str | None = None, model_dir: str | None = None, save_model: bool = True
    ) -> None:
        self.recorder = Recorder(name)
        self.model_dir = model_dir
        self.save_model = save_model

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Open the record and log the training arguments and the model's settings."""
        self.recorder.begin()
        params: dict[str, object] = {key: getattr(args, key, None) for key in ARGUMENTS}
        params["optim"] = str(getattr(args.optim, "value", args.optim))
        params["lr_scheduler_type"] = str(
            getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type)
        )
        if params["max_steps"] == -1:
            params["max_steps"] = None
        model = kwargs.get("model")
        if model is not None:
            params["model"] = _model_params(model)
        if state.is_world_process_zero:
            self.recorder.params(params)

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
        """Log what the Trainer logs, at its global step; stop if the sweep prunes."""
        if state.is_world_process_zero and logs:
            values = {k: v for k, v in logs.items() if k not in _SKIPPED}
            self.recorder.metrics(values, step=state.global_step)
        if should_prune():
            control.should_training_stop = True

    def on_evaluate(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        """Stop training if the sweep prunes this trial (asked after each evaluation)."""
        if should_prune():
            control.should_training_stop = True

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """Save the final model as an out and close the record (if this callback opened it)."""
        try:
            model = kwargs.get("model")
            if self.save_model and model is not None and state.is_world_process_zero:
                target = self.model_dir or os.path.join(args.output_dir, "final")
                model.save_pretrained(target)
                self.recorder.artifact(target)
        finally:
            self.recorder.end()


def _model_params(model: Any) -> dict[str, object]:
    config = getattr(model, "config", None)
    found: dict[str, object] = {
        "name": type(model).__name__,
        "params": sum(p.numel() for p in model.parameters()),
    }
    if config is not None:
        found["type"] = getattr(config, "model_type", None)
        found["config"] = {
            key: plain(value)
            for key, value in sorted(config.to_diff_dict().items())
            if isinstance(value, (int, float, str, bool)) and not key.startswith("_")
        }
    return found
