"""XGBoost and LightGBM: params, rounds per evaluation set, final model; in and out of runs."""

from __future__ import annotations

from pathlib import Path

import pytest

import gitexp
from tests.integrations.conftest import row, run_script, series_rows

XGB = """\
import numpy as np
import xgboost as xgb
from gitexp.integrations.xgboost import GitexpCallback

rng = np.random.default_rng(0)
x = rng.random((80, 3))
y = x @ np.array([1.0, 2.0, 3.0])
train, valid = xgb.DMatrix(x[:60], y[:60]), xgb.DMatrix(x[60:], y[60:])
xgb.train({"objective": "reg:squarederror", "eta": 0.3, "max_depth": 3}, train,
          num_boost_round=5, evals=[(train, "train"), (valid, "valid")], verbose_eval=False,
          callbacks=[GitexpCallback()])
"""

LGB = """\
import numpy as np
import lightgbm as lgb
from gitexp.integrations.lightgbm import GitexpCallback

def stop_at_round_3(env):  # LightGBM's own way to end training early
    if env.iteration == 2:
        raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list)

rng = np.random.default_rng(0)
x = rng.random((200, 3))
y = x @ np.array([1.0, 2.0, 3.0])
train = lgb.Dataset(x[:150], y[:150])
valid = lgb.Dataset(x[150:], y[150:], reference=train)
lgb.train({"objective": "regression", "learning_rate": 0.2, "num_leaves": 7, "verbose": -1},
          train, num_boost_round=10, valid_sets=[valid], valid_names=["valid"],
          callbacks=[GitexpCallback(), stop_at_round_3])
"""


def test_xgboost_under_gitexp_run(repo: Path) -> None:
    pytest.importorskip("xgboost", reason="xgboost is not installed")
    shown = run_script(repo, "xgb-run", XGB)
    assert shown["status"] == "success"
    params = shown["params"][".gitexp/params.yaml"]  # type: ignore[index]
    assert params["eta"] == pytest.approx(0.3) and params["max_depth"] == 3
    assert params["objective"] == "reg:squarederror" and params["num_boost_round"] == 5
    valid = series_rows(repo, "xgb-run", "valid/rmse")
    assert [step for step, _ in valid] == [0, 1, 2, 3, 4]
    assert valid[-1][1] < valid[0][1]
    metrics = shown["metrics"]["metrics.json"]  # type: ignore[index]
    assert metrics["valid/rmse"] == pytest.approx(valid[-1][1])
    assert "train/rmse" in metrics
    assert "model.json" in shown["data"]  # type: ignore[operator]


def test_lightgbm_stopped_early_still_keeps_its_model(repo: Path) -> None:
    pytest.importorskip("lightgbm", reason="lightgbm is not installed")
    shown = run_script(repo, "lgb-run", LGB)
    assert shown["status"] == "success"
    params = shown["params"][".gitexp/params.yaml"]  # type: ignore[index]
    assert params["learning_rate"] == pytest.approx(0.2) and params["num_leaves"] == 7
    assert params["objective"] == "regression" and params["num_boost_round"] == 10
    assert [step for step, _ in series_rows(repo, "lgb-run", "valid/l2")] == [0, 1, 2]
    assert "model.txt" in shown["data"]  # type: ignore[operator]


def test_xgboost_outside_any_experiment_opens_one(repo: Path) -> None:
    xgb = pytest.importorskip("xgboost", reason="xgboost is not installed")
    import numpy as np

    from gitexp.integrations.xgboost import GitexpCallback

    x = np.arange(40, dtype=float).reshape(20, 2)
    data = xgb.DMatrix(x, x.sum(axis=1))
    callback = GitexpCallback(name="own-xgb")
    xgb.train({"max_depth": 2}, data, 3, evals=[(data, "train")], callbacks=[callback])
    assert callback.recorder.result is not None
    assert callback.recorder.result.name == "own-xgb"
    shown = row(repo, "own-xgb")
    assert shown["status"] == "success"
    assert shown["params"][".gitexp/params.yaml"]["num_boost_round"] == 3  # type: ignore[index]
    assert len(series_rows(repo, "own-xgb", "train/rmse")) == 3
    assert "model.json" in shown["data"]  # type: ignore[operator]


def test_lightgbm_inside_an_experiment_records_into_it(repo: Path) -> None:
    lgb = pytest.importorskip("lightgbm", reason="lightgbm is not installed")
    import numpy as np

    from gitexp.integrations.lightgbm import GitexpCallback

    x = np.random.default_rng(1).random((100, 2))
    data = lgb.Dataset(x, x.sum(axis=1))
    with gitexp.Experiment(name="nb-lgb") as exp:
        callback = GitexpCallback()
        lgb.train(
            {"verbose": -1, "num_leaves": 4},
            data,
            4,
            valid_sets=[data],
            valid_names=["train"],
            callbacks=[callback],
        )
        exp.log_metric("extra", 1)
    assert callback.recorder.result is None  # the block's experiment, not one of its own
    shown = row(repo, "nb-lgb")
    assert shown["params"][".gitexp/params.yaml"]["num_leaves"] == 4  # type: ignore[index]
    assert shown["metrics"]["metrics.json"]["extra"] == 1  # type: ignore[index]
    assert len(series_rows(repo, "nb-lgb", "train/l2")) == 4
    assert "model.txt" in shown["data"]  # type: ignore[operator]


def test_a_callback_used_for_two_trainings_records_two_experiments(repo: Path) -> None:
    lgb = pytest.importorskip("lightgbm", reason="lightgbm is not installed")
    import numpy as np

    from gitexp.integrations.lightgbm import GitexpCallback

    x = np.random.default_rng(2).random((60, 2))
    data = lgb.Dataset(x, x.sum(axis=1), free_raw_data=False)
    callback = GitexpCallback()
    names = []
    for leaves in (3, 5):
        params = {"verbose": -1, "num_leaves": leaves}
        lgb.train(params, data, 2, valid_sets=[data], valid_names=["train"], callbacks=[callback])
        assert callback.recorder.result is not None
        names.append(callback.recorder.result.name)
    assert len(set(names)) == 2
    leaves_seen = [
        row(repo, name)["params"][".gitexp/params.yaml"]["num_leaves"]  # type: ignore[index]
        for name in names
    ]
    assert leaves_seen == [3, 5]


def test_outside_a_repository_the_callback_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xgb = pytest.importorskip("xgboost", reason="xgboost is not installed")
    import numpy as np

    from gitexp.errors import NotARepositoryError
    from gitexp.integrations.xgboost import GitexpCallback

    (tmp_path / "plain").mkdir()
    monkeypatch.chdir(tmp_path / "plain")
    x = np.arange(20, dtype=float).reshape(10, 2)
    data = xgb.DMatrix(x, x.sum(axis=1))
    with pytest.raises(NotARepositoryError) as caught:
        xgb.train({}, data, 2, callbacks=[GitexpCallback()])
    assert caught.value.message.startswith("gitexp cannot record this training: ")
    assert "not in a git repository" in caught.value.message
    assert not (tmp_path / "plain" / "model.json").exists()
