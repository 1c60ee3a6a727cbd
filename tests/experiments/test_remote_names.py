"""A remote that does not exist is an error that names it, never a fallback to another."""

from __future__ import annotations

from pathlib import Path

import pytest

import gitexp
from gitexp.errors import NotFoundError
from tests.conftest import git
from tests.data.syncsetup import clone, make_origin, make_project


@pytest.fixture
def shared(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Clone A with one experiment pushed, and a second one not pushed yet."""
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(a)
    assert cli("run", "-n", "exp-1", "-S", "train.lr=0.1").code == 0
    assert cli("push", "exp-1").code == 0
    assert cli("run", "-n", "exp-2", "-S", "train.lr=0.2").code == 0
    return a, origin


def on_origin(origin: Path) -> str:
    return git(origin, "for-each-ref", "refs/experiments/")


def test_push_all_to_a_mistyped_git_remote_is_an_error(shared, cli) -> None:
    _, origin = shared
    before = on_origin(origin)
    result = cli("push", "backp", "--all")
    assert result.code == 1, result.err
    assert "no git remote 'backp'; known: origin (see `git remote -v`)" in result.err
    assert "up to date" not in result.err
    assert on_origin(origin) == before


def test_pull_all_from_a_mistyped_git_remote_is_an_error(
    shared, cli, tmp_path, monkeypatch
) -> None:
    _, origin = shared
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    result = cli("pull", "backp", "--all")
    assert result.code == 1, result.err
    assert "no git remote 'backp'; known: origin" in result.err
    assert git(b, "for-each-ref", "refs/experiments/") == ""


def test_push_of_a_word_that_is_neither_remote_nor_experiment(shared, cli) -> None:
    result = cli("push", "backp", "exp-2")
    assert result.code == 1
    assert "no git remote or experiment named 'backp'" in result.err
    assert "git remotes: origin" in result.err


def test_pull_names_the_git_remotes_when_a_name_is_not_on_origin(
    shared, cli, tmp_path, monkeypatch
) -> None:
    _, origin = shared
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    result = cli("pull", "backp", "exp-1")
    assert result.code == 1
    assert "not on git remote 'origin': backp" in result.err
    assert "git remotes here: origin" in result.err


def test_experiment_names_alone_still_mean_origin(shared, cli, tmp_path, monkeypatch) -> None:
    _, origin = shared
    result = cli("push", "exp-2")
    assert result.code == 0, result.err
    assert "with 'origin'" in result.err
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    pulled = cli("pull", "exp-1", "exp-2")
    assert pulled.code == 0, pulled.err


def test_a_path_as_git_remote_still_works(shared, cli) -> None:
    _, origin = shared
    result = cli("push", str(origin), "exp-2")
    assert result.code == 0, result.err
    assert "refs/experiments/exp-2" in on_origin(origin)


def test_the_api_refuses_an_unknown_git_remote_even_for_data_only(shared) -> None:
    repo = gitexp.Repo()
    with pytest.raises(NotFoundError, match="no git remote 'backp'; known: origin"):
        repo.push(["exp-2"], git_remote="backp")
    with pytest.raises(NotFoundError, match="no git remote 'backp'"):
        repo.push(git_remote="backp")
    with pytest.raises(NotFoundError, match="no git remote 'backp'"):
        repo.pull(git_remote="backp")


def test_plain_push_needs_no_git_remote(shared, cli) -> None:
    a, _ = shared
    git(a, "remote", "remove", "origin")
    result = cli("push")
    assert result.code == 0, result.err
    refused = cli("push", "exp-2")
    assert refused.code == 1
    assert "no git remote 'origin'; known: none" in refused.err


def test_unknown_storage_remote_is_an_error_with_nothing_to_move(shared, cli) -> None:
    for argv in (
        ("push", "-r", "nope", "--no-data", "exp-2"),
        ("pull", "-r", "nope", "--no-data", "--all"),
        ("push", "-r", "nope", "exp-1"),
    ):
        result = cli(*argv)
        assert result.code == 1, (argv, result.err)
        assert "unknown storage remote 'nope'" in result.err
        assert "known remotes: shared" in result.err


def test_remote_add_refuses_a_path_whose_parent_is_missing(repo: Path, cli, tmp_path) -> None:
    missing = tmp_path / "nonexistent" / "dir" / "x"
    result = cli("remote", "add", "bad", str(missing))
    assert result.code == 1
    assert f"{missing.parent} does not exist" in result.err
    assert "bad" not in cli("remote", "list").out
    later = tmp_path / "store"
    made = cli("remote", "add", "ok", str(later))
    assert made.code == 0
    assert f"{later} does not exist yet: the first push creates it" in made.err
    relative = cli("remote", "add", "rel", "../nowhere/x")
    assert relative.code == 1 and "does not exist" in relative.err


def test_push_never_makes_a_folder_whose_parent_is_missing(shared, cli, tmp_path) -> None:
    a, _ = shared
    missing = tmp_path / "nonexistent" / "dir" / "x"
    text = (a / "gitexp.yaml").read_text()
    (a / "gitexp.yaml").write_text(text + f"  bad: {missing}\n")
    result = cli("push", "-r", "bad", "exp-2")
    assert result.code == 1
    assert f"{missing.parent} does not exist" in result.err
    assert not (tmp_path / "nonexistent").exists()


def test_all_with_names_is_a_usage_error(shared, cli) -> None:
    result = cli("push", "origin", "exp-2", "--all")
    assert result.code == 2
    assert "--all takes no experiment names (exp-2)" in result.err
