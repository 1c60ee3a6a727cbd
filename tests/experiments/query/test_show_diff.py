from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

import gitexp
from gitexp.errors import NotFoundError, UsageError
from gitexp.experiments.query.index import FILE_NAME
from tests.conftest import commit_all, git, names

PY = sys.executable


@pytest.fixture
def three(repo: Path) -> gitexp.Repo:
    r = gitexp.Repo()
    r.run([PY, "train.py"], name="base")
    r.run([PY, "train.py"], overrides=["train.lr=0.01,0.1"], name="lr")
    return r


def test_show_json_has_the_designed_shape(three: gitexp.Repo, repo: Path) -> None:
    rows = three.show()["experiments"]
    assert names(rows) == ["lr-2", "lr-1", "base"]  # newest first
    row = rows[0]
    assert list(row) == [
        "name",
        "ref",
        "commit",
        "baseline",
        "branch",
        "created",
        "status",
        "params",
        "metrics",
        "data",
    ]
    assert row["ref"] == "refs/experiments/lr-2"
    assert row["baseline"] == git(repo, "rev-parse", "HEAD").strip()
    assert row["branch"] == "main" and row["status"] == "success"
    assert row["params"] == {"params.yaml": {"train": {"lr": 0.1, "epochs": 3}, "seed": 1}}
    assert row["metrics"]["metrics.json"]["acc"] == pytest.approx(0.6)  # type: ignore[index]
    assert row["data"] == {}


def test_show_sort_filter_limit(three: gitexp.Repo) -> None:
    assert names(three.show(sort_by="train.lr")["experiments"]) == ["base", "lr-1", "lr-2"]
    assert names(three.show(sort_by="acc", descending=True)["experiments"]) == [
        "lr-2",
        "lr-1",
        "base",
    ]
    assert names(three.show(filters=["train.lr>0.001"])["experiments"]) == ["lr-2", "lr-1"]
    assert names(three.show(filters=["train.lr>0.001", "acc<0.55"])["experiments"]) == ["lr-1"]
    assert names(
        three.show(filters=["params.yaml:seed==1", "status==success"], limit=1)["experiments"]
    ) == ["lr-2"]
    assert three.show(limit=0)["experiments"] == []


def test_show_sort_puts_experiments_without_the_key_last(three: gitexp.Repo, repo: Path) -> None:
    three.run([PY, "-c", "pass"], name="nometrics")
    assert names(three.show(sort_by="acc")["experiments"])[-1] == "nometrics"
    assert names(three.show(sort_by="acc", descending=True)["experiments"])[-1] == "nometrics"


def test_show_unknown_key_is_an_error(three: gitexp.Repo) -> None:
    with pytest.raises(NotFoundError, match="no experiment has the key 'acc2'"):
        three.show(sort_by="acc2")
    with pytest.raises(NotFoundError):
        three.show(filters=["lr2>1"])
    with pytest.raises(UsageError):
        three.show(filters=["nonsense"])


def test_show_branch_keeps_experiments_whose_baseline_is_on_it(
    three: gitexp.Repo, repo: Path
) -> None:
    git(repo, "switch", "-q", "-c", "feature")
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# feature\n")
    commit_all(repo)
    three.run([PY, "train.py"], name="feat")
    assert names(three.show(branches=["feature"])["experiments"]) == [
        "feat",
        "lr-2",
        "lr-1",
        "base",
    ]
    assert names(three.show(branches=["main"])["experiments"]) == ["lr-2", "lr-1", "base"]
    assert names(three.show(branches=["HEAD~1"])["experiments"]) == ["lr-2", "lr-1", "base"]
    with pytest.raises(NotFoundError):
        three.show(branches=["no-such-branch"])


def test_show_index_is_reused_and_survives_deletion(three: gitexp.Repo, repo: Path) -> None:
    index = repo / ".git" / "gitexp" / "index" / FILE_NAME
    first = three.show()
    assert index.is_file()
    assert gitexp.Repo().show() == first
    index.unlink()
    assert gitexp.Repo().show() == first
    index.write_text("garbage")
    assert gitexp.Repo().show() == first


def test_show_cli_formats(three: gitexp.Repo, cli: object) -> None:
    result = cli("show", "--json")  # type: ignore[operator]
    assert result.code == 0 and names(orjson.loads(result.out)["experiments"]) == [
        "lr-2",
        "lr-1",
        "base",
    ]
    result = cli("show", "--csv", "--sort-by", "train.lr")  # type: ignore[operator]
    lines = result.out.splitlines()
    assert lines[0].startswith("Experiment,Created,Status,train.lr,train.epochs,seed,loss,acc")
    assert lines[1].startswith("base,") and ",0.001," in lines[1]
    result = cli("show", "--md", "--only-changed")  # type: ignore[operator]
    header = result.out.splitlines()[0]
    assert "train.lr" in header and "seed" not in header and "epochs" not in header
    result = cli("show")  # type: ignore[operator]
    assert result.out.splitlines()[0].split() == [
        "Experiment",
        "Created",
        "Status",
        "train.lr",
        "train.epochs",
        "seed",
        "loss",
        "acc",
    ]


def test_show_with_no_experiments(repo: Path, cli: object) -> None:
    result = cli("show")  # type: ignore[operator]
    assert result.code == 0 and "no experiments" in result.err
    assert orjson.loads(cli("show", "--json").out) == {"experiments": []}  # type: ignore[operator]


def test_diff_two_experiments_matches_git_diff(three: gitexp.Repo, repo: Path) -> None:
    d = three.diff("lr-1", "lr-2")
    assert d["params"] == {"params.yaml": {"train.lr": {"old": 0.01, "new": 0.1}}}
    acc = d["metrics"]["metrics.json"]["acc"]
    assert acc["old"] == pytest.approx(0.51) and acc["change"] == pytest.approx(0.09)
    assert d["files"] == [
        {"path": "metrics.json", "status": "modified"},
        {"path": "params.yaml", "status": "modified"},
    ]
    assert d["artifacts"] == []
    changed = git(
        repo, "diff", "--name-only", "refs/experiments/lr-1", "refs/experiments/lr-2"
    ).split()
    assert sorted(f["path"] for f in d["files"]) == sorted(
        p for p in changed if not p.startswith(".gitexp/")
    )


def test_diff_one_experiment_against_its_baseline(three: gitexp.Repo, repo: Path) -> None:
    d = three.diff("lr-1")
    assert d["a"] == git(repo, "rev-parse", "HEAD").strip()
    assert d["params"] == {"params.yaml": {"train.lr": {"old": 0.001, "new": 0.01}}}
    assert d["metrics"]["metrics.json"]["acc"]["old"] is None  # no metrics in the baseline
    assert {"path": "metrics.json", "status": "added"} in d["files"]
    latest = three.diff()
    assert latest["b"] == three.show()["experiments"][0]["commit"]


def test_diff_accepts_branches_tags_and_commits(three: gitexp.Repo, repo: Path) -> None:
    git(repo, "tag", "v1")
    d = three.diff("v1", "lr-2")
    assert d["params"]["params.yaml"]["train.lr"] == {"old": 0.001, "new": 0.1}
    assert three.diff("main", "v1")["files"] == []


def test_diff_unknown_name(three: gitexp.Repo, cli: object) -> None:
    with pytest.raises(NotFoundError, match="'nope' is not an experiment, branch, tag or commit"):
        three.diff("nope", "lr-1")
    result = cli("diff", "lr-1", "nope")  # type: ignore[operator]
    assert result.code == 1
    assert result.err.startswith("error: 'nope' is not an experiment, branch, tag or commit; ")
    assert "Traceback" not in result.err


def test_diff_cli_text_and_json(three: gitexp.Repo, cli: object) -> None:
    result = cli("diff", "lr-1", "lr-2")  # type: ignore[operator]
    assert "train.lr" in result.out and "0.01" in result.out and "0.1" in result.out
    doc = orjson.loads(cli("diff", "lr-1", "lr-2", "--json").out)  # type: ignore[operator]
    assert set(doc) == {"a", "b", "params", "metrics", "files", "artifacts"}
