"""``gitexp compare`` ranks each metric the way it is better, and says so; its text
output carries what ``--json`` has, down to the data version each best trained on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.core.hashing import hash_bytes
from gitexp.errors import GoalError
from tests.conftest import commit_all, git

# acc first: it is the first key of the first metrics file
TRAIN = """\
import gitexp
p = gitexp.params()
lr = p["train"]["lr"]
gitexp.log_metric("acc", 0.5 + lr)
gitexp.log_metric("loss", 1.0 - lr)
gitexp.log_metric("throughput", 100 * lr)
"""


def _run(root: Path, lrs: str, name: str) -> None:
    results = Repo(root).run([sys.executable, "train.py"], overrides=[f"train.lr={lrs}"], name=name)
    assert all(r.status == "success" for r in results)


@pytest.fixture
def story(repo: Path, cli) -> Path:
    """main trains on data v1 (m-1, m-2); feature on data v2 (f-1, f-2), higher lr."""
    (repo / "train.py").write_text(TRAIN)
    (repo / "data").mkdir()
    (repo / "data/train.csv").write_bytes(b"v1")
    assert cli("add", "data/train.csv").code == 0
    commit_all(repo, "data v1")
    _run(repo, "0.01,0.02", "m")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "data/train.csv").write_bytes(b"v2")
    assert cli("add", "data/train.csv").code == 0
    commit_all(repo, "data v2")
    _run(repo, "0.1,0.2", "f")
    git(repo, "checkout", "-q", "main")
    assert cli("checkout").code == 0
    return repo


def test_accuracy_ranks_highest_first_without_being_told(story: Path) -> None:
    result = Repo(story).compare("feature", "main", metric="acc")
    assert result.a.best.name == "f-2"
    assert result.b.best.name == "m-2"
    assert (result.goal, result.goal_source, result.order) == ("max", "name", "descending")


def test_loss_ranks_lowest_first_without_being_told(story: Path) -> None:
    result = Repo(story).compare("feature", "main", metric="loss")
    assert result.a.best.name == "f-2"
    assert (result.goal, result.order) == ("min", "ascending")


def test_without_a_metric_the_first_key_of_the_first_metrics_file_ranks(story: Path) -> None:
    result = Repo(story).compare("feature", "main")
    assert (result.metric, result.metric_source, result.goal) == ("acc", "first", "max")
    assert result.a.best.name == "f-2"


def test_the_text_says_which_metric_and_which_way(cli, story: Path) -> None:
    result = cli("compare", "feature", "main")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == (
        "Ranked by acc: higher is better (as its name says); "
        "the first metric, choose another with --metric KEY."
    )
    assert "best           f-2" in result.out


def test_a_metric_with_no_known_goal_is_refused_with_how_to_declare_one(cli, story: Path) -> None:
    result = cli("compare", "feature", "main", "--metric", "throughput")
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        "error: gitexp does not know whether a higher or a lower 'throughput' is better; "
        "declare it in gitexp.yaml (`goals: {throughput: max}`, or min) "
        "or pass --goal max or --goal min\n"
    )
    with pytest.raises(GoalError):
        Repo(story).compare("feature", "main", metric="throughput")
    as_json = cli("compare", "feature", "main", "--metric", "throughput", "--json")
    assert as_json.code == 1 and json.loads(as_json.err)["error"] == "goal"


def test_goal_flag_ranks_any_metric(cli, story: Path) -> None:
    result = cli("compare", "feature", "main", "--metric", "throughput", "--goal", "max")
    assert result.code == 0, result.err
    assert result.out.splitlines()[0] == "Ranked by throughput: higher is better (as --goal says)."
    low = json.loads(
        cli("compare", "feature", "main", "--metric", "acc", "--goal", "min", "--json").out
    )
    assert low["a"]["best"]["name"] == "f-1" and low["goal_source"] == "--goal"


def test_goals_in_gitexp_yaml_rank_and_override_the_name(cli, story: Path) -> None:
    (story / "gitexp.yaml").write_text("goals: {throughput: max, loss: max}\n")
    result = cli("compare", "feature", "main", "--metric", "throughput")
    assert result.code == 0, result.err
    assert "higher is better (as goals: in gitexp.yaml says)" in result.out
    doc = json.loads(cli("compare", "feature", "main", "--metric", "loss", "--json").out)
    assert doc["goal"] == "max" and doc["a"]["best"]["name"] == "f-1"


def test_a_bad_goal_in_gitexp_yaml_is_one_clear_error(cli, story: Path) -> None:
    (story / "gitexp.yaml").write_text("goals: {acc: highest}\n")
    result = cli("compare", "feature", "main")
    assert result.code == 1
    assert result.err.startswith(
        "error: 'goals.acc' in gitexp.yaml is 'highest'; it must be max or min"
    )


def test_desc_still_means_higher_is_better(cli, story: Path) -> None:
    doc = json.loads(
        cli("compare", "feature", "main", "--metric", "throughput", "--desc", "--json").out
    )
    assert doc["goal"] == "max" and doc["a"]["best"]["name"] == "f-2"
    clash = cli("compare", "feature", "main", "--desc", "--goal", "min")
    assert clash.code == 2 and "--desc means --goal max" in clash.err


def test_the_text_shows_the_data_each_best_trained_on(cli, story: Path) -> None:
    v1, v2 = str(hash_bytes(b"v1")), str(hash_bytes(b"v2"))
    doc = json.loads(cli("compare", "feature", "main", "--json").out)
    assert doc["artifacts"] == [{"path": "data/train.csv", "old": v2, "new": v1}]
    assert doc["a"]["best"]["data"] == {"data/train.csv": v2}
    result = cli("compare", "feature", "main")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    at = lines.index("Data and artifacts of the bests")
    assert lines[at + 1].split() == ["Path", "A:", "f-2", "B:", "m-2"]
    assert lines[at + 2].split() == ["data/train.csv", v2[:19], v1[:19], "differs"]


def test_the_text_shows_each_bests_commit_and_baseline(cli, story: Path) -> None:
    doc = json.loads(cli("compare", "feature", "main", "--json").out)
    text = cli("compare", "feature", "main").out
    for field in ("commit", "baseline"):
        row = next(line for line in text.splitlines() if line.startswith(f"best {field}"))
        assert row.split()[2:] == [doc["a"]["best"][field][:12], doc["b"]["best"][field][:12]]


def test_the_same_data_is_said_to_be_the_same(cli, repo: Path) -> None:
    (repo / "train.py").write_text(TRAIN)
    (repo / "data").mkdir()
    (repo / "data/train.csv").write_bytes(b"v1")
    assert cli("add", "data/train.csv").code == 0
    commit_all(repo, "data v1")
    _run(repo, "0.01", "m")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "train.py").write_text(TRAIN + "# tuned\n")
    commit_all(repo, "tune")
    _run(repo, "0.1", "f")
    result = cli("compare", "feature", "main")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    at = lines.index("Data and artifacts of the bests: the same versions")
    assert lines[at + 2].split()[0] == "data/train.csv" and lines[at + 2].split()[-1] == "same"
