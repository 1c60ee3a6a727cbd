"""``gitexp compare``: two branches' experiments side by side, and commit-ish sides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gitexp.api import Repo


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def _run(root: Path, lrs: str, name: str) -> None:
    results = Repo(root).run([sys.executable, "train.py"], overrides=[f"train.lr={lrs}"], name=name)
    assert all(r.status == "success" for r in results)


@pytest.fixture
def branches(repo: Path) -> Path:
    """main: m-1, m-2 (lr 0.001, 0.01); feature (train.py changed): f-1, f-2 (lr 0.1, 0.2)."""
    _run(repo, "0.001,0.01", "m")
    _git(repo, "checkout", "-q", "-b", "feature")
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# tuned\n")
    _git(repo, "commit", "-q", "-am", "tune")
    _run(repo, "0.1,0.2", "f")
    _git(repo, "checkout", "-q", "main")
    return repo


def test_each_side_counts_and_ranks_its_experiments(branches: Path) -> None:
    result = Repo(branches).compare("feature", "main", metric="acc", descending=True)
    a, b = result.a, result.b
    assert (a.count, a.failed, a.with_metric) == (2, 0, 2)
    assert (b.count, b.failed, b.with_metric) == (2, 0, 2)
    assert a.best.name == "f-2" and a.best.value == pytest.approx(0.7)
    assert b.best.name == "m-2" and b.best.value == pytest.approx(0.51)
    assert a.median == pytest.approx(0.65) and a.stdev == pytest.approx(0.05)
    assert (b.min, b.max) == (pytest.approx(0.501), pytest.approx(0.51))
    assert result.order == "descending"


def test_the_bests_params_and_code_files_that_differ(branches: Path) -> None:
    result = Repo(branches).compare("feature", "main", metric="acc", descending=True)
    assert result.params == {"params.yaml": {"train.lr": {"a": 0.2, "b": 0.01}}}
    assert result.files == ({"path": "train.py", "status": "modified"},)


def test_goal_min_picks_the_lowest(branches: Path) -> None:
    result = Repo(branches).compare("feature", "main", metric="acc", goal="min")
    assert result.a.best.name == "f-1"
    assert result.b.best.name == "m-1"


def test_acc_without_a_goal_picks_the_highest(branches: Path) -> None:
    result = Repo(branches).compare("feature", "main", metric="acc")
    assert result.a.best.name == "f-2"
    assert result.b.best.name == "m-2"


def test_without_a_metric_the_first_metric_ranks(branches: Path) -> None:
    result = Repo(branches).compare("feature", "main")
    assert result.metric == "loss"


def test_a_branch_in_the_others_history_keeps_all_its_experiments(branches: Path) -> None:
    result = Repo(branches).compare("feature", "main")
    assert (result.a.scope, result.b.scope) == ("own", "all")


def test_once_both_branches_moved_each_side_has_only_its_own_work(branches: Path) -> None:
    (branches / "train.py").write_text((branches / "train.py").read_text() + "# main moved\n")
    _git(branches, "commit", "-q", "-am", "main moved")
    _run(branches, "0.05", "later")
    result = Repo(branches).compare("feature", "main", metric="acc")
    assert (result.a.scope, result.b.scope) == ("own", "own")
    assert result.a.count == 2
    assert result.b.count == 1 and result.b.best.name == "later"


def test_failed_runs_are_counted_and_not_ranked(branches: Path) -> None:
    (branches / "fail.py").write_text(
        "import gitexp\ngitexp.log_metric('acc', 0.99)\nraise SystemExit(3)\n"
    )
    _git(branches, "add", "fail.py")
    _git(branches, "commit", "-q", "-m", "a failing script")
    Repo(branches).run([sys.executable, "fail.py"], name="broken")
    result = Repo(branches).compare("main", "feature", metric="acc", descending=True)
    assert (result.a.count, result.a.failed, result.a.with_metric) == (1, 1, 0)
    assert result.a.best is None
    assert result.params == {} and result.files == ()


def test_sides_may_be_tags_and_commit_ids(branches: Path) -> None:
    _git(branches, "tag", "v1", "feature")
    main_sha = _git(branches, "rev-parse", "main").strip()
    by_name = Repo(branches).compare("feature", "main", metric="acc")
    by_tag = Repo(branches).compare("v1", main_sha[:10], metric="acc")
    for side in ("a", "b"):
        assert getattr(by_tag, side).best == getattr(by_name, side).best
        assert getattr(by_tag, side).count == getattr(by_name, side).count
    assert by_tag.a.ref == "v1" and by_tag.b.commit == main_sha


def test_cli_prints_both_sides_and_the_diff_of_the_bests(cli, branches: Path) -> None:
    result = cli("compare", "feature", "main", "--metric", "acc", "--desc")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "Ranked by acc: higher is better (as --goal says)."
    assert lines[2].split() == ["A:", "feature", "B:", "main"]
    assert ["best", "f-2", "m-2"] in [line.split() for line in lines]
    assert ["experiments", "2", "2"] in [line.split() for line in lines]
    assert "train.lr  0.2     0.01" in result.out
    assert "train.py  modified" in result.out


def test_cli_json_carries_the_same(cli, branches: Path) -> None:
    result = cli("compare", "feature", "main", "--metric", "acc", "--json")
    doc = json.loads(result.out)
    assert set(doc) == {
        "metric",
        "metric_source",
        "goal",
        "goal_source",
        "order",
        "a",
        "b",
        "params",
        "files",
        "artifacts",
    }
    assert doc["a"]["best"]["name"] == "f-2"
    assert doc["files"] == [{"path": "train.py", "status": "modified"}]


def test_unknown_branch_is_one_clear_error(cli, branches: Path) -> None:
    result = cli("compare", "feature", "nope")
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        "error: 'nope' is not a branch, tag or commit; "
        "name a branch (git branch -a), a tag or a commit id\n"
    )


def test_a_metric_no_experiment_has_is_one_clear_error(cli, branches: Path) -> None:
    result = cli("compare", "feature", "main", "--metric", "f1")
    assert result.code == 1
    assert result.err.startswith("error: no experiment on 'feature' or 'main' has the metric 'f1'")


def test_json_errors_are_json(cli, branches: Path) -> None:
    result = cli("compare", "feature", "nope", "--json")
    assert result.code == 1
    assert json.loads(result.err)["error"] == "not_found"


def test_show_branch_takes_tags_and_commit_ids(cli, branches: Path) -> None:
    _git(branches, "tag", "v1", "feature")
    main_sha = _git(branches, "rev-parse", "main").strip()
    for spec, expected in (
        ("v1", ["f-1", "f-2", "m-1", "m-2"]),
        (main_sha, ["m-1", "m-2"]),
        ("feature~1", ["m-1", "m-2"]),
    ):
        result = cli("show", "--json", "--branch", spec)
        assert result.code == 0, result.err
        assert sorted(e["name"] for e in json.loads(result.out)["experiments"]) == expected


def test_show_branch_unknown_is_one_clear_error(cli, branches: Path) -> None:
    result = cli("show", "--branch", "nope")
    assert result.code == 1
    assert result.err.startswith("error: 'nope' is not an experiment, branch, tag or commit")
