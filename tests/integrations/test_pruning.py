"""In a sweep with a pruner, a framework callback stops a trial that ``should_prune()`` ends."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

import gitexp
from tests.conftest import commit_all, git, run_gitexp

PY = sys.executable
ROUNDS = 40
FIT = f"""\
import numpy as np
import xgboost as xgb
import gitexp
from gitexp.integrations.xgboost import GitexpCallback

rng = np.random.default_rng(0)
x = rng.random((200, 3))
y = x @ np.array([1.0, 2.0, 3.0])
train, valid = xgb.DMatrix(x[:150], y[:150]), xgb.DMatrix(x[150:], y[150:])
xgb.train({{"eta": gitexp.params()["eta"], "max_depth": 3}}, train, num_boost_round={ROUNDS},
          evals=[(valid, "valid")], verbose_eval=False, callbacks=[GitexpCallback()])
"""


@pytest.mark.slow
def test_xgboost_trials_pruned_by_the_sweep_stop_early(repo: Path) -> None:
    pytest.importorskip("xgboost", reason="xgboost is not installed")
    if not hasattr(gitexp, "should_prune"):
        pytest.skip("gitexp.should_prune() is not there yet: it comes with sweeps and pruning")
    (repo / "params.yaml").write_text("eta: 0.3\n")
    (repo / "fit.py").write_text(FIT)
    commit_all(repo, "boosting")
    done = run_gitexp(
        repo,
        "run",
        "-n",
        "prune",
        "-S",
        "eta=choice(0.5,0.6,0.7,0.001)",
        "--trials",
        "10",
        "--sampler",
        "random",
        "--seed",
        "1",
        "--prune",
        "median",
        "--goal",
        "valid/rmse:min",
        "--",
        PY,
        "fit.py",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = orjson.loads(run_gitexp(repo, "show", "--json").stdout)["experiments"]
    trials = [r for r in rows if str(r["name"]).startswith("prune-")]
    assert len(trials) == 10
    assert {r["status"] for r in trials} <= {"success", "pruned"}
    pruned = [r for r in trials if r["status"] == "pruned"]
    assert pruned, "a trial with eta 0.001 falls behind the median and is pruned"
    for trial in trials:
        series = git(
            repo, "show", f"refs/experiments/{trial['name']}:.gitexp/series/valid/rmse.tsv"
        )
        rounds = len(series.splitlines()) - 1
        assert rounds < ROUNDS if trial["status"] == "pruned" else rounds == ROUNDS
