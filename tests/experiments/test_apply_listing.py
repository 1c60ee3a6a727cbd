"""`apply` says what it will change before it acts, and never reverts later commits silently."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import gitexp
from gitexp.errors import ConflictError
from tests.conftest import PARAMS_YAML, commit_all, git

PY = sys.executable
TRAIN = "open('model.pkl', 'w').write('weights' * 100)\nopen('metrics.json', 'w').write('{\"acc\": 0.5}')\n"


@pytest.fixture
def older(repo: Path, cli) -> Path:
    """Experiment 'old' run on the first commit; then a commit adds tracked data."""
    (repo / "gitexp.yaml").write_text(f"command: {PY} make.py\nouts: [model.pkl]\n")
    (repo / "make.py").write_text(TRAIN)
    (repo / ".gitignore").write_text("metrics.json\n/model.pkl\n")
    commit_all(repo, "outs")
    assert cli("run", "-n", "old", "-S", "train.lr=0.5").code == 0
    (repo / "model.pkl").unlink()
    (repo / "metrics.json").unlink()
    (repo / "data.csv").write_text("a,b\n1,2\n")
    assert cli("add", "data.csv").code == 0
    commit_all(repo, "track data.csv")
    return repo


def lines(err: str) -> list[str]:
    return [" ".join(line.split()) for line in err.splitlines()]


def test_apply_of_an_older_experiment_refuses_to_revert_later_commits(older: Path, cli) -> None:
    baseline = git(older, "rev-parse", "--short=7", "HEAD~1").strip()
    ignore = (older / ".gitignore").read_text()
    result = cli("apply", "old")
    assert result.code == 1, result.err
    assert (
        f"experiment 'old' was run on {baseline}, 1 commit behind HEAD: "
        "applying it reverts files changed since: .gitignore, data.csv.gitexp"
    ) in result.err
    assert (
        "apply 'old' would revert 2 file(s) committed since its baseline: "
        ".gitignore, data.csv.gitexp" in result.err
    )
    assert "--force" in result.err
    assert (older / "data.csv.gitexp").is_file()
    assert (older / ".gitignore").read_text() == ignore
    assert "lr: 0.5" not in (older / "params.yaml").read_text()


def test_apply_lists_every_change_grouped(older: Path, cli) -> None:
    result = cli("apply", "--dry-run", "old")
    assert result.code == 0, result.err
    shown = lines(result.err)
    assert "modified: .gitignore (committed since the baseline)" in shown
    assert "modified: params.yaml" in shown
    assert "added: metrics.json" in shown
    assert "added: model.pkl.gitexp" in shown
    assert "deleted: data.csv.gitexp (committed since the baseline)" in shown
    assert "data: model.pkl" in shown
    order = [
        s.split(":")[0]
        for s in shown
        if s.split(":")[0] in ("modified", "added", "deleted", "data")
    ]
    assert order == sorted(order, key=["modified", "added", "deleted", "data"].index)
    assert "dry run: nothing was changed" in result.err
    assert (older / "data.csv.gitexp").is_file() and not (older / "model.pkl").exists()
    assert git(older, "status", "--porcelain") == ""


def test_apply_force_reverts_and_says_so(older: Path, cli) -> None:
    result = cli("apply", "--force", "old")
    assert result.code == 0, result.err
    assert "applying it reverts files changed since: .gitignore, data.csv.gitexp" in result.err
    assert "deleted: data.csv.gitexp (committed since the baseline)" in lines(result.err)
    assert not (older / "data.csv.gitexp").exists()
    assert "lr: 0.5" in (older / "params.yaml").read_text()
    assert (older / "model.pkl").read_text() == "weights" * 100
    git(older, "checkout", "HEAD", "--", "data.csv.gitexp", ".gitignore")


def test_the_api_returns_the_plan_and_refuses_the_same(older: Path) -> None:
    repo = gitexp.Repo()
    seen = []
    with pytest.raises(ConflictError, match="would revert 2 file"):
        repo.apply("old", on_plan=seen.append)
    plan = seen[0]
    assert plan.behind == 1 and plan.reverted == (".gitignore", "data.csv.gitexp")
    assert plan.deleted == ("data.csv.gitexp",) and plan.data == ("model.pkl",)
    dry = repo.apply("old", dry_run=True)
    assert dry.plan == plan and not dry.written and not dry.deleted


def test_uncommitted_refusal_lists_every_file_it_would_change(repo: Path, cli) -> None:
    r = gitexp.Repo()
    r.run([PY, "train.py"], name="a", overrides=["train.lr=0.01"])
    (repo / "metrics.json").unlink()
    (repo / "params.yaml").write_text(PARAMS_YAML + "extra: 1\n")
    result = cli("apply", "a")
    assert result.code == 1
    shown = lines(result.err)
    assert "modified: params.yaml (uncommitted changes)" in shown
    assert "added: metrics.json" in shown
    assert "apply would overwrite uncommitted changes in params.yaml" in result.err
    assert "was run on" not in result.err
    assert (repo / "params.yaml").read_text().endswith("extra: 1\n")


def test_apply_on_its_own_baseline_needs_no_force(repo: Path, cli) -> None:
    r = gitexp.Repo()
    r.run([PY, "train.py"], name="a", overrides=["train.lr=0.01"])
    result = cli("apply", "a")
    assert result.code == 0, result.err
    assert "was run on" not in result.err
    assert "modified: params.yaml" in lines(result.err)
    again = cli("apply", "a")
    assert again.code == 0 and "the workspace already matches 'a'" in again.err
    assert "modified:" not in again.err


def test_apply_from_another_branch_refuses_only_that_branch_s_own_commits(repo: Path, cli) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# tuned\n")
    commit_all(repo, "tune")
    assert cli("run", "-n", "m", "-S", "train.lr=0.5", "--", PY, "train.py").code == 0
    git(repo, "checkout", "-q", "-b", "side", base)
    (repo / "notes.txt").write_text("side notes\n")
    commit_all(repo, "notes")
    result = cli("apply", "m")
    assert result.code == 1
    assert "which is not in HEAD's history (HEAD has 1 commit it lacks)" in result.err
    assert (
        "apply 'm' would revert 1 file(s) committed on HEAD's side since HEAD and its "
        "baseline parted: notes.txt"
    ) in result.err
    assert "modified: train.py" in lines(result.err)
    assert (repo / "notes.txt").is_file()
    assert cli("apply", "--force", "m").code == 0
    assert not (repo / "notes.txt").exists() and "# tuned" in (repo / "train.py").read_text()


def test_apply_of_an_experiment_run_on_a_later_commit_reverts_nothing(repo: Path, cli) -> None:
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# tuned\n")
    commit_all(repo, "tune")
    assert cli("run", "-n", "later", "-S", "train.lr=0.5", "--", PY, "train.py").code == 0
    git(repo, "checkout", "-q", "HEAD~1")
    result = cli("apply", "later")
    assert result.code == 0, result.err
    assert "which is not in HEAD's history" in result.err and "reverts" not in result.err
    assert "# tuned" in (repo / "train.py").read_text()


def test_uncommitted_refusal_names_every_file_not_the_first_five(repo: Path, cli) -> None:
    script = "for i in range(7): open(f'out{i}.txt', 'w').write('run %d' % i)"
    assert cli("run", "-n", "many", "--", PY, "-c", script).code == 0
    for i in range(7):
        (repo / f"out{i}.txt").write_text(f"my own notes {i}")
    result = cli("apply", "many")
    assert result.code == 1
    assert (
        "apply would overwrite uncommitted changes in " + ", ".join(f"out{i}.txt" for i in range(7))
    ) in result.err
    assert all(f"added: out{i}.txt (uncommitted changes)" in lines(result.err) for i in range(7))
    assert (repo / "out6.txt").read_text() == "my own notes 6"
