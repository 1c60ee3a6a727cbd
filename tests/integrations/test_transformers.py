"""Transformers: the TrainerCallback records arguments, model config, logs and the model."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrations.conftest import framework, run_script, series_rows

framework("torch")
framework("transformers")
framework("accelerate")

FIT = """\
import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from gitexp.integrations.transformers import GitexpCallback

torch.manual_seed(0)
config = BertConfig(vocab_size=32, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=16, max_position_embeddings=16, num_labels=2)
model = BertForSequenceClassification(config)  # built from a config: nothing downloaded
data = [{"input_ids": torch.randint(0, 32, (8,)), "labels": i % 2} for i in range(16)]
args = TrainingArguments(output_dir="out", num_train_epochs=2, per_device_train_batch_size=4,
                         learning_rate=0.001, logging_steps=2, eval_strategy="epoch",
                         save_strategy="no", report_to="none", use_cpu=True,
                         disable_tqdm=True, seed=3)
trainer = Trainer(model=model, args=args, train_dataset=data, eval_dataset=data[:8],
                  callbacks=[GitexpCallback()])
trainer.train()
"""


def test_transformers_trainer_under_gitexp_run(repo: Path) -> None:
    shown = run_script(repo, "hf-run", FIT)
    assert shown["status"] == "success"
    params = shown["params"][".gitexp/params.yaml"]  # type: ignore[index]
    assert params["learning_rate"] == pytest.approx(0.001)
    assert params["per_device_train_batch_size"] == 4
    assert params["num_train_epochs"] == 2 and params["seed"] == 3
    assert "max_steps" not in params  # -1 in the arguments: no limit
    assert isinstance(params["optim"], str) and params["optim"]
    model = params["model"]
    assert model["name"] == "BertForSequenceClassification" and model["type"] == "bert"
    assert model["config"]["hidden_size"] == 8 and model["config"]["num_hidden_layers"] == 1
    metrics = shown["metrics"]["metrics.json"]  # type: ignore[index]
    assert {"loss", "eval_loss", "train_loss"} <= set(metrics)
    loss = series_rows(repo, "hf-run", "loss")
    assert [step for step, _ in loss] == [2, 4, 6, 8]  # 4 steps an epoch, a log every 2
    assert [step for step, _ in series_rows(repo, "hf-run", "eval_loss")] == [4, 8]
    assert "out/final" in shown["data"]  # type: ignore[operator]
