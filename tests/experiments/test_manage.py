from __future__ import annotations

import sys
from pathlib import Path

import pytest

import gitexp
from gitexp.errors import ConflictError, InvalidNameError, NotFoundError, UncommittedChangesError
from tests.conftest import PARAMS_YAML, git, names

PY = sys.executable


@pytest.fixture
def two(repo: Path) -> gitexp.Repo:
    r = gitexp.Repo()
    r.run([PY, "train.py"], name="a", overrides=["train.lr=0.01"])
    script = "open('new.txt','w').write('made'); import os; os.remove('train.py')"
    r.run([PY, "-c", script], name="b", overrides=["seed=2"])
    (repo / "new.txt").unlink()
    git(repo, "checkout", "--", "train.py")
    return r


def test_apply_writes_params_code_and_metrics(two: gitexp.Repo, repo: Path) -> None:
    (repo / "metrics.json").unlink()
    result = two.apply("a")
    assert "params.yaml" in result.written and "metrics.json" in result.written
    assert "lr: 0.01" in (repo / "params.yaml").read_text()
    assert (repo / "metrics.json").is_file()
    assert not (repo / ".gitexp").exists()
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_apply_deletes_what_the_experiment_deleted(two: gitexp.Repo, repo: Path) -> None:
    result = two.apply("b")
    assert not (repo / "train.py").exists() and (repo / "new.txt").read_text() == "made"
    assert "train.py" in result.deleted


def test_apply_refuses_over_uncommitted_changes(two: gitexp.Repo, repo: Path, cli: object) -> None:
    (repo / "params.yaml").write_text(PARAMS_YAML + "extra: 1\n")
    with pytest.raises(UncommittedChangesError, match="params.yaml"):
        two.apply("a")
    assert (repo / "params.yaml").read_text().endswith("extra: 1\n")
    result = cli("apply", "a")  # type: ignore[operator]
    assert (
        result.code == 1
        and "apply would overwrite uncommitted changes in params.yaml" in result.err
    )


def test_apply_force_saves_the_work_first(two: gitexp.Repo, repo: Path, cli: object) -> None:
    (repo / "params.yaml").write_text(PARAMS_YAML + "extra: 1\n")
    result = cli("apply", "--force", "a")  # type: ignore[operator]
    assert result.code == 0
    stash = next(
        line.split()[-1] for line in result.err.splitlines() if "saved your uncommitted" in line
    )
    assert stash.startswith("refs/gitexp/stash/")
    assert "lr: 0.01" in (repo / "params.yaml").read_text()
    assert git(repo, "show", f"{stash}:params.yaml").endswith("extra: 1\n")
    git(repo, "checkout", stash, "--", "params.yaml")
    assert (repo / "params.yaml").read_text().endswith("extra: 1\n")


def test_apply_over_content_git_holds_is_not_refused(two: gitexp.Repo, repo: Path) -> None:
    two.apply("a")
    two.apply("b")  # metrics.json from 'a' differs from HEAD, but 'a' holds it
    assert "seed: 2" in (repo / "params.yaml").read_text()


def test_apply_unknown_experiment(two: gitexp.Repo) -> None:
    with pytest.raises(NotFoundError, match="experiment 'zzz' does not exist"):
        two.apply("zzz")


def test_branch_creates_a_branch_at_the_experiment(two: gitexp.Repo, repo: Path) -> None:
    commit = two.branch("a", "try-a")
    assert git(repo, "rev-parse", "try-a").strip() == commit
    with pytest.raises(ConflictError, match="branch 'try-a' already exists"):
        two.branch("b", "try-a")
    with pytest.raises(InvalidNameError):
        two.branch("b", "bad..name")
    with pytest.raises(NotFoundError):
        two.branch("zzz", "other")
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_remove_names_failed_and_all(two: gitexp.Repo, repo: Path) -> None:
    two.run([PY, "-c", "raise SystemExit(1)"], name="broken")
    assert two.remove(failed=True) == ["broken"]
    with pytest.raises(NotFoundError):
        two.remove(["a", "zzz"])
    assert names(two.list()) == ["b", "a"]  # nothing removed by the failed call
    assert two.remove(["a"]) == ["a"]
    assert two.remove(everything=True) == ["b"]
    assert git(repo, "for-each-ref", "refs/experiments/") == ""


def test_list_cli(two: gitexp.Repo, cli: object) -> None:
    result = cli("list", "--names-only")  # type: ignore[operator]
    assert result.out.split() == ["b", "a"]
    result = cli("remove")  # type: ignore[operator]
    assert result.code == 2


def test_experiments_share_through_plain_git(two: gitexp.Repo, repo: Path, tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "push", "-q", str(remote), "main", "refs/experiments/*:refs/experiments/*")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(remote), str(clone))
    git(clone, "fetch", "-q", "origin", "refs/experiments/*:refs/experiments/*")
    assert names(gitexp.Repo(clone).show()["experiments"]) == ["b", "a"]
