"""The quickstart example runs end to end against a temporary repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import git

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

pytest.importorskip("sklearn", reason="the example needs scikit-learn (the test extra has it)")


def gitexp(cwd: Path, *args: str) -> str:
    proc = subprocess.run([PY, "-m", "gitexp", *args], cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.slow
def test_quickstart_end_to_end(tmp_path: Path) -> None:
    work = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", work)
    git(work, "init", "-q", "-b", "main")
    subprocess.run([PY, "prepare.py"], cwd=work, check=True, capture_output=True)
    gitexp(work, "add", "data/digits.csv")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "digits")
    assert "data/digits.csv" not in git(work, "ls-files").split()

    gitexp(work, "run", "-n", "base", "-S", "train.epochs=3", "--", PY, "train.py")
    gitexp(
        work,
        "run",
        "-n",
        "lr",
        "-S",
        "train.lr=0.01,0.003",
        "-S",
        "train.epochs=3",
        "--",
        PY,
        "train.py",
    )
    rows = orjson.loads(gitexp(work, "show", "--json", "--sort-by", "train.lr"))["experiments"]
    assert [r["name"] for r in rows] == ["base", "lr-2", "lr-1"]
    assert all(r["status"] == "success" for r in rows)
    assert all(0.0 < r["metrics"]["metrics.json"]["acc"] <= 1.0 for r in rows)
    assert {r["data"]["data/digits.csv"] for r in rows} == {rows[0]["data"]["data/digits.csv"]}
    assert all("model.pkl" in r["data"] for r in rows)
    diff = orjson.loads(gitexp(work, "diff", "base", "lr-1", "--json"))
    assert diff["params"] == {"params.yaml": {"train.lr": {"old": 0.001, "new": 0.01}}}

    git(tmp_path, "init", "-q", "--bare", "-b", "main", "origin.git")
    git(work, "remote", "add", "origin", str(tmp_path / "origin.git"))
    git(work, "push", "-q", "origin", "main")
    gitexp(work, "push", "--all")
    git(tmp_path, "clone", "-q", str(tmp_path / "origin.git"), "mate")
    mate = tmp_path / "mate"
    gitexp(mate, "pull", "--all")
    assert (mate / "data" / "digits.csv").read_bytes() == (
        work / "data" / "digits.csv"
    ).read_bytes()
    gitexp(mate, "apply", "lr-1")
    model = git(work, "show", "refs/experiments/lr-1:model.pkl.gitexp")
    assert model == (mate / "model.pkl.gitexp").read_text()
    shown = orjson.loads(gitexp(mate, "show", "--json"))["experiments"]
    assert sorted(r["name"] for r in shown) == ["base", "lr-1", "lr-2"]
