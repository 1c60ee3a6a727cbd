"""``gitexp bisect``: the first commit where a metric crosses a line, running only what is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import commit_all, git, make_repo

TRAIN = """\
import gitexp
QUALITY = {quality}
step = int(open("step.txt").read())
gitexp.log_metric("acc", QUALITY + gitexp.params()["boost"] - step / 1000)
"""


def history(root: Path, count: int = 32, worse_at: int = 19) -> list[str]:
    """``count`` commits; from commit ``worse_at`` on, acc drops from about 0.9 to about 0.5."""
    make_repo(
        root,
        {
            "train.py": TRAIN.format(quality=0.9),
            "step.txt": "1\n",
            "params.yaml": "boost: 0.0\n",
            "gitexp.yaml": f"command: {sys.executable} train.py\n",
            ".gitignore": "metrics.json\n",
        },
    )
    commits = [git(root, "rev-parse", "HEAD").strip()]
    for number in range(2, count + 1):
        (root / "step.txt").write_text(f"{number}\n")
        if number == worse_at:
            (root / "train.py").write_text(TRAIN.format(quality=0.5))
        commits.append(commit_all(root, f"commit {number}"))
    return commits


def bisect_refs(root: Path) -> list[str]:
    return git(root, "for-each-ref", "--format=%(refname)", "refs/experiments/bisect-*").split()


@pytest.mark.slow
def test_names_commit_19_of_32_with_at_most_6_runs(tmp_path: Path, cli, monkeypatch) -> None:
    root = tmp_path / "p"
    commits = history(root)
    monkeypatch.chdir(root)
    found = cli("bisect", commits[0], "main", "--metric", "acc", "--threshold", "0.8", "--json")
    assert found.code == 0, found.err
    doc = orjson.loads(found.out)
    assert doc["first_bad"]["commit"] == commits[18]
    assert doc["first_bad"]["subject"] == "commit 19"
    assert doc["first_bad"]["value"] == pytest.approx(0.5 - 19 / 1000)
    assert doc["commits"] == 31 and doc["goal"] == "max"
    assert 1 <= doc["runs"] <= 6
    assert len(bisect_refs(root)) == doc["runs"]
    assert doc["experiments"] == [step["experiment"] for step in doc["steps"]]

    again = cli("bisect", commits[0], "main", "--metric", "acc", "--threshold", "0.8")
    assert again.code == 0, again.err
    assert f"{commits[18]} is the first bad commit" in again.out
    assert "commit 19" in again.out and "reused experiment 'bisect-" in again.out
    assert "0 run(s)" in again.err
    assert len(bisect_refs(root)) == doc["runs"]


@pytest.mark.slow
def test_recorded_experiments_are_reused_never_run_again(tmp_path: Path, cli, monkeypatch) -> None:
    root = tmp_path / "p"
    commits = history(root)
    monkeypatch.chdir(root)
    recorded = {}
    for number in (8, 16, 24, 28, 32):
        git(root, "checkout", "-q", commits[number - 1])
        assert cli("run", "-n", f"at-{number}").code == 0
        recorded[commits[number - 1]] = f"at-{number}"
    git(root, "checkout", "-q", commits[19])  # commit 20, made to look good by an override
    assert cli("run", "-n", "tweaked", "-S", "boost=0.4").code == 0
    git(root, "checkout", "-q", "main")

    found = cli("bisect", commits[0], "main", "--metric", "acc", "--threshold", "0.8", "--json")
    assert found.code == 0, found.err
    doc = orjson.loads(found.out)
    assert doc["first_bad"]["commit"] == commits[18]
    ran = [step["commit"] for step in doc["steps"] if step["ran"]]
    assert not set(ran) & set(recorded)
    reused = {step["commit"]: step["experiment"] for step in doc["steps"] if not step["ran"]}
    assert reused[commits[31]] == "at-32"
    assert all(recorded[c] == name for c, name in reused.items())
    assert commits[19] not in reused  # the experiment with overrides did not count
    assert len(ran) == len(bisect_refs(root)) <= 3  # between 16 (good) and 24 (bad): 7 commits


def test_bad_not_worse_blames_nothing(tmp_path: Path, cli, monkeypatch) -> None:
    root = tmp_path / "p"
    commits = history(root, count=4, worse_at=99)
    monkeypatch.chdir(root)
    found = cli("bisect", commits[0], commits[3], "--metric", "acc", "--threshold", "0.5")
    assert found.code == 1
    assert "is not worse than the threshold" in found.err and "nothing to blame" in found.err
    assert len(bisect_refs(root)) == 1
    unknown = cli("bisect", commits[0], commits[3], "--metric", "quality", "--threshold", "1")
    assert unknown.code == 1 and "--goal" in unknown.err
    backwards = cli("bisect", commits[3], commits[0], "--metric", "acc", "--threshold", "0.5")
    assert backwards.code == 1 and "not on the first-parent history" in backwards.err
    executor = cli(
        "bisect",
        commits[0],
        commits[3],
        "--metric",
        "acc",
        "--threshold",
        "0.5",
        "--executor",
        "dask://h",
    )
    assert executor.code == 2 and "give the Dask scheduler as dask://HOST:PORT" in executor.err


def test_a_commit_without_a_command_says_how_to_give_one(tmp_path: Path, cli, monkeypatch) -> None:
    root = tmp_path / "p"
    commits = history(root, count=3)
    (root / "gitexp.yaml").write_text("metrics: [metrics.json]\n")
    commits.append(commit_all(root, "no command"))
    monkeypatch.chdir(root)
    found = cli("bisect", commits[0], "main", "--metric", "acc", "--threshold", "0.8")
    assert found.code == 1 and "--command" in found.err
    given = cli(
        "bisect",
        commits[0],
        "main",
        "--metric",
        "acc",
        "--threshold",
        "0.95",
        "--command",
        f"{sys.executable} train.py",
    )
    assert given.code == 0, given.err
    assert f"{commits[1]} is the first bad commit" in given.out
