from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

import gitexp
from gitexp.errors import ConflictError
from tests.conftest import git

PY = sys.executable


def test_experiment_from_python_records_params_metrics_series(repo: Path) -> None:
    with gitexp.Experiment(name="nb", params={"train": {"lr": 0.05}, "extra": 3}) as exp:
        assert exp.params["train"] == {"lr": 0.05, "epochs": 3}
        assert gitexp.params()["extra"] == 3
        for step in range(3):
            exp.log_metric("loss", 1.0 / (step + 1), step=step)
        gitexp.log_metric("acc", 0.75)
        (repo / "model.bin").write_bytes(b"w")
        exp.log_artifact("model.bin")
    assert exp.result is not None and exp.result.status == "success"
    row = gitexp.Repo().show()["experiments"][0]
    assert row["name"] == "nb"
    assert row["params"]["params.yaml"]["train"]["lr"] == 0.05  # type: ignore[index]
    assert row["params"]["params.yaml"]["extra"] == 3  # type: ignore[index]
    assert row["metrics"] == {"metrics.json": {"loss": pytest.approx(1 / 3), "acc": 0.75}}
    assert "model.bin" in row["data"]  # type: ignore[operator]
    series = git(repo, "show", "refs/experiments/nb:.gitexp/series/loss.tsv")
    assert series.splitlines()[0] == "step\tvalue" and len(series.splitlines()) == 4
    assert "lr: 0.001" in (repo / "params.yaml").read_text()  # the workspace is not changed


def test_experiment_that_raises_is_recorded_failed(repo: Path) -> None:
    with pytest.raises(RuntimeError), gitexp.Experiment(name="oops") as exp:
        raise RuntimeError("boom")
    assert exp.result is not None and exp.result.status == "failed"
    assert gitexp.Repo().show()["experiments"][0]["status"] == "failed"


def test_experiment_name_taken(repo: Path) -> None:
    with gitexp.Experiment(name="dup"):
        pass
    with pytest.raises(ConflictError), gitexp.Experiment(name="dup"):
        pass


def test_log_metric_outside_an_experiment_warns_and_writes_metrics(repo: Path) -> None:
    with pytest.warns(UserWarning, match="not inside an experiment"):
        gitexp.log_metric("loss", 0.5, step=1)
    assert orjson.loads((repo / "metrics.json").read_bytes()) == {"loss": 0.5}
    assert gitexp.params()["seed"] == 1


def test_series_continue_without_step_and_reject_non_numbers(repo: Path) -> None:
    script = (
        "import gitexp\n"
        "gitexp.log_metric('loss', 3.0, step=10)\n"
        "gitexp.log_metric('loss', 2.0)\n"
        "gitexp.log_metrics({'a': 1, 'b': 2}, step=0)\n"
        "try:\n    gitexp.log_metric('loss', 'x', step=3)\nexcept gitexp.GitexpError as e:\n    print('refused', e)\n"
        "try:\n    gitexp.log_metric('bad', object())\nexcept gitexp.GitexpError as e:\n    print('refused', e)\n"
    )
    result = gitexp.Repo().run([PY, "-c", script], name="s")[0]
    assert result.status == "success"
    assert (
        git(repo, "show", "refs/experiments/s:.gitexp/series/loss.tsv")
        == "step\tvalue\n10\t3.0\n11\t2.0\n"
    )
    log = git(repo, "show", "refs/experiments/s:.gitexp/output.log")
    assert log.count("refused") == 2
