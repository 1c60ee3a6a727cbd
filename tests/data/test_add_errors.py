"""Bad input to ``gitexp add``: each case has a clear message and writes nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.errors import NotFoundError
from tests.conftest import git
from tests.data.datahelp import leftovers, make_tree


def nothing_written(repo: Path) -> bool:
    return (
        not list(repo.rglob("*.gitexp"))
        and not (repo / ".git" / "gitexp" / "cache" / "blake3").exists()
    )


def test_path_outside_the_repository(repo: Path, cli, tmp_path: Path) -> None:
    (tmp_path / "outside.bin").write_bytes(b"x")
    result = cli("add", str(tmp_path / "outside.bin"))
    assert result.code == 1
    assert f"error: '{tmp_path / 'outside.bin'}' is outside the repository" in result.err
    assert nothing_written(repo)


@pytest.mark.parametrize("path", [".git", ".git/config", "sub/../.git/objects"])
def test_git_folder(repo: Path, cli, path: str) -> None:
    result = cli("add", path)
    assert result.code == 1
    assert "is inside git's own folder .git" in result.err
    assert nothing_written(repo)


def test_file_tracked_by_git(repo: Path, cli) -> None:
    result = cli("add", "train.py")
    assert result.code == 1
    assert result.err.strip() == (
        "error: 'train.py' is tracked by git; untrack it first with "
        "`git rm --cached train.py`, then `gitexp add train.py`"
    )
    assert nothing_written(repo)


def test_folder_with_files_tracked_by_git(repo: Path, cli) -> None:
    make_tree(repo, 3)
    git(repo, "add", "data/part0")
    result = cli("add", "data")
    assert result.code == 1
    assert "'data' holds files that git tracks (data/part0/f0.csv and 1 more)" in result.err
    assert "git rm -r --cached data" in result.err
    assert nothing_written(repo)


def test_missing_path_and_pointer_file_and_root(repo: Path, cli) -> None:
    result = cli("add", "nope.csv")
    assert (result.code, result.err.strip()) == (
        1,
        "error: 'nope.csv' does not exist; check the path",
    )
    (repo / "x.gitexp").write_text("version: 1\n")
    result = cli("add", "x.gitexp")
    assert (
        result.code == 1
        and "'x.gitexp' is a pointer file; add the data it stands for: x" in result.err
    )
    result = cli("add", ".")
    assert result.code == 1 and "cannot track the whole repository" in result.err
    assert cli("add").code == 2


def test_symlink_and_link_out_of_the_repository(repo: Path, cli, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f.bin").write_bytes(b"secret")
    os.symlink(tmp_path / "real", repo / "linked")
    result = cli("add", "linked")
    assert result.code == 1 and "'linked' is a symbolic link" in result.err
    result = cli("add", "linked/f.bin")
    assert result.code == 1
    assert "leads outside the repository through a symbolic link" in result.err
    assert nothing_written(repo)


def test_inside_tracked_data_and_overlapping_paths(repo: Path, cli) -> None:
    make_tree(repo, 4)
    result = cli("add", "data", "data/part0")
    assert result.code == 1 and "'data/part0' is inside 'data', which is added too" in result.err
    assert nothing_written(repo)
    assert cli("add", "data").code == 0
    result = cli("add", "data/part1")
    assert result.code == 1
    assert "'data/part1' is inside 'data', which gitexp tracks as a whole" in result.err


def test_data_removed_under_a_running_add(repo: Path) -> None:
    make_tree(repo, 6)
    seen: list[str] = []

    def remove_next(path: str, inner: str) -> None:
        seen.append(inner)
        if len(seen) == 2:
            os.unlink(repo / "data" / "part1" / "f5.csv")

    with pytest.raises(NotFoundError) as info:
        Repo(repo).add(["data"], on_file=remove_next)
    assert info.value.message == (
        "'data' (or a file in it) was removed while gitexp was adding it; "
        "nothing was recorded for 'data'"
    )
    assert not (repo / "data.gitexp").exists()
    assert leftovers(repo) == []
    assert Repo(repo).add(["data"])[0].files == 5
