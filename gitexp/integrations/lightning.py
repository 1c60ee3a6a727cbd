"""Lightning: ``GitexpLogger``, a logger that is also a callback, records the training.

Give it to the Trainer in both roles, so it sees the metrics (as a logger) and the
trainer itself (as a callback: the optimizer, the batch size, pruning, the final
checkpoint)::

    logger = GitexpLogger()
    trainer = L.Trainer(max_epochs=5, logger=logger, callbacks=[logger])

Recorded: the module's hyperparameters (``save_hyperparameters``), the optimizer's name,
learning rate and settings, batch size, epochs, precision and the model's parameter
count as params; every logged metric as a series by global step, its last value a
metric; the final checkpoint (``model.ckpt``, ``checkpoint_path``) as an out. Used as
a logger alone it still records hyperparameters, metrics and the checkpoints that
Lightning's ``ModelCheckpoint`` writes, and warns once of what it misses.
"""

from __future__ import annotations

import warnings
from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitexp.integrations.recorder import Recorder, number, plain, require, should_prune

L = require("lightning.pytorch", "Lightning", "lightning")
_rank_zero_only = require("lightning.pytorch.utilities", "Lightning", "lightning").rank_zero_only

_NOT_A_CALLBACK = (
    "gitexp: GitexpLogger is not among the Trainer's callbacks, so the optimizer, the "
    "batch size, pruning and the final checkpoint are not recorded; pass it as both: "
    "Trainer(logger=logger, callbacks=[logger])"
)


_Logger: Any = L.loggers.Logger
_Callback: Any = L.Callback


class GitexpLogger(_Logger, _Callback):  # type: ignore[misc]  # Lightning is Any to mypy
    """Records a Lightning training as a gitexp experiment (see the module docstring).

    ``name`` names the experiment it opens when it runs outside one;
    ``checkpoint_path`` is where the final checkpoint is saved (None: not saved).
    """

    def __init__(self, name: str | None = None, checkpoint_path: str | None = "model.ckpt") -> None:
        super().__init__()
        self.recorder = Recorder(name)
        self.checkpoint_path = checkpoint_path
        self._as_callback = False
        self._checkpoints: Any = None
        self._warned = False

    @property
    def name(self) -> str:
        """Lightning's folder for this logger's files: ``lightning_logs``."""
        return "lightning_logs"

    @property
    def version(self) -> str:
        """The experiment's name: Lightning writes its checkpoints under it."""
        self.recorder.begin()
        return self.recorder.name

    @property
    def save_dir(self) -> None:
        """None: Lightning's own root folder (the working directory by default)."""
        return None

    @_rank_zero_only  # type: ignore[untyped-decorator]
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *_: Any, **__: Any) -> None:
        """Log the module's (and data module's) hyperparameters as params."""
        values = vars(params) if isinstance(params, Namespace) else dict(params)
        self.recorder.params(values)

    @_rank_zero_only  # type: ignore[untyped-decorator]
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log metrics at the global ``step`` (the epoch Lightning adds is left out)."""
        if not self._as_callback and not self._warned:
            self._warned = True
            warnings.warn(_NOT_A_CALLBACK, stacklevel=2)
        self.recorder.metrics({k: v for k, v in metrics.items() if k != "epoch"}, step)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Remember Lightning's checkpoint callback: a logger alone records its checkpoint."""
        self._checkpoints = checkpoint_callback

    @_rank_zero_only  # type: ignore[untyped-decorator]
    def finalize(self, status: str) -> None:
        """Record the experiment (if this logger opened it); failed unless ``success``."""
        try:
            if not self._as_callback and status == "success" and self._checkpoints is not None:
                saved = self._checkpoints.best_model_path or self._checkpoints.last_model_path
                if saved:
                    self.recorder.artifact(saved)
        finally:
            self.recorder.end(failed=status != "success")

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        """As a callback: log what the trainer shows of the training's settings."""
        self._as_callback = True
        self.recorder.params(_trainer_params(trainer, pl_module))

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        """Stop training if the sweep prunes this trial."""
        if should_prune():
            trainer.should_stop = True

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Stop training if the sweep prunes this trial (asked after each validation)."""
        if should_prune() and not trainer.sanity_checking:
            trainer.should_stop = True

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        """Save the final checkpoint as an out."""
        if self.checkpoint_path is None:
            return
        Path(self.checkpoint_path).parent.mkdir(parents=True, exist_ok=True)
        trainer.save_checkpoint(self.checkpoint_path)
        if trainer.is_global_zero:
            self.recorder.artifact(self.checkpoint_path)


def _trainer_params(trainer: Any, module: Any) -> dict[str, object]:
    found: dict[str, object] = {
        "max_epochs": trainer.max_epochs,
        "max_steps": trainer.max_steps if trainer.max_steps != -1 else None,
        "accumulate_grad_batches": trainer.accumulate_grad_batches,
        "precision": str(trainer.precision),
        "model": {
            "name": type(module).__name__,
            "params": sum(p.numel() for p in module.parameters()),
            "trainable_params": sum(p.numel() for p in module.parameters() if p.requires_grad),
        },
    }
    loader = getattr(trainer, "train_dataloader", None)
    batch_size = getattr(loader, "batch_size", None)
    if batch_size is not None:
        found["batch_size"] = batch_size
    if trainer.optimizers:
        optimizer = trainer.optimizers[0]
        group = optimizer.param_groups[0]
        found["optimizer"] = type(optimizer).__name__
        found["learning_rate"] = number(group.get("lr"))
        found["optimizer_params"] = {
            key: plain(value)
            for key, value in group.items()
            if key not in ("params", "lr") and isinstance(value, (int, float, str, tuple))
        }
    return found
