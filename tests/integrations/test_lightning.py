"""Lightning: the logger-and-callback records hyperparameters, optimizer, steps, checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.conftest import framework, run_script, series_rows, tree_files

framework("torch")
framework("lightning")

FIT = """\
import torch
import lightning as L
from torch.utils.data import DataLoader, TensorDataset
from gitexp.integrations.lightning import GitexpLogger

class Tiny(L.LightningModule):
    def __init__(self, lr=0.05, hidden=8):
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, 1))

    def training_step(self, batch, _):
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)

L.seed_everything(0)
x = torch.rand(64, 4)
data = TensorDataset(x, x.sum(dim=1, keepdim=True))
logger = GitexpLogger()
trainer = L.Trainer(max_epochs=3, logger=logger, callbacks=[logger], accelerator="cpu",
                    log_every_n_steps=1, enable_progress_bar=False, enable_model_summary=False)
trainer.fit(Tiny(), DataLoader(data, batch_size=16), DataLoader(data, batch_size=32))
"""


def test_lightning_fit_under_gitexp_run(repo: Path) -> None:
    shown = run_script(repo, "pl-run", FIT)
    assert shown["status"] == "success"
    params = shown["params"][".gitexp/params.yaml"]  # type: ignore[index]
    assert params["lr"] == 0.05 and params["hidden"] == 8  # save_hyperparameters
    assert params["optimizer"] == "SGD"
    assert params["learning_rate"] == pytest.approx(0.05)
    assert params["optimizer_params"]["momentum"] == pytest.approx(0.9)
    assert params["batch_size"] == 16 and params["max_epochs"] == 3
    assert params["model"]["name"] == "Tiny"
    assert params["model"]["params"] == 4 * 8 + 8 + 8 + 1
    metrics = shown["metrics"]["metrics.json"]  # type: ignore[index]
    assert {"train_loss", "val_loss"} <= set(metrics)
    train = series_rows(repo, "pl-run", "train_loss")
    assert [step for step, _ in train] == list(range(12))  # 4 batches x 3 epochs
    assert len(series_rows(repo, "pl-run", "val_loss")) == 3
    assert "model.ckpt" in shown["data"]  # type: ignore[operator]
    files = tree_files(repo, "pl-run")
    assert any(f.startswith("lightning_logs/pl-run/checkpoints/") for f in files)
