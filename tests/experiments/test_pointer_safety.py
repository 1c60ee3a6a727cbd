"""Hostile pointers: a committed pointer never makes gitexp touch git's folder or the user's files."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from gitexp.core.pointer import parse_pointer
from tests.conftest import PARAMS_YAML, commit_all, git
from tests.data.datahelp import store

HOSTILE = [".git", ".GIT", ".git.", "sub/.git", "sub/.Git", ".gitexp", "sub/.gitexp"]


def folder_pointer(repo: Path) -> bytes:
    """A valid pointer to a folder of one file, both objects in the cache."""
    (repo / "x").mkdir()
    (repo / "x" / "f").write_bytes(b"payload")
    (repo / "gitexp.yaml").write_text("remote: store\nremotes:\n  store: ../storage\n")
    return (repo / "x.gitexp").read_bytes() if _add(repo, "x") else b""


def _add(repo: Path, rel: str) -> bool:
    from gitexp.cli.main import main

    return main(["add", rel]) == 0


def plant(repo: Path, data: str) -> str:
    """Commit a pointer whose data path is ``data``; its pointer file's path."""
    text = folder_pointer(repo)
    name = data + ".gitexp"
    (repo / name).parent.mkdir(parents=True, exist_ok=True)
    (repo / name).write_bytes(text)
    commit_all(repo, "a crafted pointer")
    return name


def git_folder(repo: Path) -> dict[str, bytes]:
    return {
        p.relative_to(repo).as_posix(): p.read_bytes()
        for p in sorted((repo / ".git").iterdir())
        if p.is_file()
    }


@pytest.mark.parametrize("data", HOSTILE)
def test_a_pointer_into_git_s_folder_is_refused_and_git_survives(
    repo: Path, cli, data: str
) -> None:
    name = plant(repo, data)
    before = git_folder(repo)
    for command in (["checkout"], ["checkout", "--force"], ["checkout", data]):
        result = cli(*command)
        assert result.code == 1, (command, result.err)
        assert f"error: {name}: unsafe data path {data!r}" in result.err
        assert "gitexp will not read or write it" in result.err
        assert "--force" not in result.err
    assert git_folder(repo) == before
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize(
    "command", [["status"], ["gc"], ["fsck"], ["push"], ["pull"], ["add", "x"]]
)
def test_every_command_that_reads_pointers_refuses(repo: Path, cli, command: list[str]) -> None:
    name = plant(repo, ".git")
    before = git_folder(repo)
    result = cli(*command)
    if command[0] == "add":  # adding other data reads no pointer: it still works
        assert result.code == 0, result.err
        return
    assert result.code == 1, result.err
    assert f"{name}: unsafe data path '.git'" in result.err
    assert git_folder(repo) == before


def test_run_refuses_before_running(repo: Path, cli) -> None:
    plant(repo, ".git")
    result = cli("run", "-S", "train.lr=0.5", "--", sys.executable, "-c", "open('ran', 'w')")
    assert result.code == 1
    assert ".git.gitexp: unsafe data path '.git'" in result.err
    assert not (repo / "ran").exists()
    assert (repo / "params.yaml").read_text() == PARAMS_YAML
    assert git(repo, "for-each-ref", "refs/experiments/") == ""


def test_manifest_cannot_reach_git_s_folder_through_a_link(repo: Path, cli) -> None:
    """A folder of the data path that is a link, even one inside the repository."""
    (repo / "real").mkdir()
    (repo / "real" / "x.bin").write_bytes(b"payload")
    assert cli("add", "real/x.bin").code == 0
    os.unlink(repo / "real" / "x.bin")
    os.symlink("real", repo / "link")
    shutil.copy(repo / "real" / "x.bin.gitexp", repo / "real" / "y.bin.gitexp")
    result = cli("checkout", "link/y.bin")
    assert result.code == 1
    assert "'link/y.bin' lies beyond the symbolic link 'link'" in result.err
    assert not (repo / "real" / "y.bin").exists()
    os.unlink(repo / "link")
    os.symlink(".git", repo / "link")
    os.rename(repo / "real" / "y.bin.gitexp", repo / ".git" / "y.bin.gitexp")
    result = cli("checkout", "link/y.bin")
    assert result.code == 1
    assert "'link/y.bin' lies beyond the symbolic link 'link'" in result.err
    assert not (repo / ".git" / "y.bin").exists()


def test_a_pointer_over_a_file_git_tracks_never_offers_force(repo: Path, cli) -> None:
    (repo / "other.bin").write_bytes(b"payload")
    assert cli("add", "other.bin").code == 0
    shutil.copy(repo / "other.bin.gitexp", repo / "train.py.gitexp")
    (repo / "train.py").write_text("print('my uncommitted work')\n")
    for command in (["checkout"], ["checkout", "--force"]):
        result = cli(*command)
        assert result.code == 1
        assert (
            "train.py.gitexp: its data path 'train.py' holds 'train.py', a file git tracks; "
            "gitexp will not overwrite it"
        ) in result.err
        assert "--force" not in result.err
    assert (repo / "train.py").read_text() == "print('my uncommitted work')\n"


def test_history_with_a_crafted_pointer_does_not_stop_gc(repo: Path, cli) -> None:
    """gc reads every commit: a crafted pointer in history names nothing to keep."""
    plant(repo, ".git")
    git(repo, "rm", "-q", "--cached", ".git.gitexp")
    os.unlink(repo / ".git.gitexp")
    commit_all(repo, "drop the crafted pointer")
    result = cli("gc")
    assert result.code == 0, result.err
    assert store(repo).has(parse_pointer((repo / "x.gitexp").read_bytes(), "x.gitexp").oid)


def test_apply_refuses_an_experiment_with_a_crafted_pointer(repo: Path, cli) -> None:
    base = git(repo, "rev-parse", "HEAD").strip()
    plant(repo, ".git")
    crafted = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "update-ref", "refs/experiments/evil", crafted)
    git(repo, "reset", "-q", "--hard", base)
    before = git_folder(repo)
    result = cli("apply", "evil")
    assert result.code == 1
    assert ".git.gitexp: unsafe data path '.git'" in result.err
    assert not (repo / ".git.gitexp").exists()
    assert git_folder(repo) == before


def test_a_git_folder_under_another_name_is_refused(tmp_path: Path, monkeypatch, cli) -> None:
    """The repository's git folder may sit in the working tree under any name."""
    root = tmp_path / "w"
    root.mkdir()
    git(root, "init", "-q", "-b", "main", "--separate-git-dir", str(root / "gd"))
    (root / "a.txt").write_text("a\n")
    git(root, "add", "a.txt")
    git(root, "commit", "-q", "-m", "a")
    monkeypatch.chdir(root)
    text = folder_pointer(root)
    (root / "gd.gitexp").write_bytes(text)
    before = sorted(p.name for p in (root / "gd").iterdir())
    for command in (["checkout"], ["checkout", "--force"]):
        result = cli(*command)
        assert result.code == 1
        assert "'gd' is inside git's own folder; gitexp will not read or write it" in result.err
    assert sorted(p.name for p in (root / "gd").iterdir()) == before


@pytest.mark.parametrize(
    "path", [".git/config", "sub/.git/hooks/post-checkout", "sub/.GIT", ".gitexp/x"]
)
def test_manifest_naming_a_git_folder_is_refused(repo: Path, cli, path: str) -> None:
    from tests.data.test_attacks import crafted_folder, entry

    crafted_folder(repo, [entry("ok.txt"), entry(path)])
    for command in (["checkout"], ["checkout", "--force"], ["status"]):
        result = cli(*command)
        assert result.code == 1, command
        assert f"unsafe path {path!r}" in result.err
        assert "--force" not in result.err
    assert not (repo / "evil").exists()


def test_a_repository_inside_data_is_not_data(repo: Path, cli) -> None:
    """A cloned dataset keeps its .git: add leaves it out, so no manifest ever names it."""
    (repo / "ds" / ".git").mkdir(parents=True)
    (repo / "ds" / ".git" / "config").write_text("[core]\n")
    (repo / "ds" / "rows.csv").write_text("a,b\n")
    result = cli("add", "ds")
    assert result.code == 0, result.err
    assert "files: 1\n" in (repo / "ds.gitexp").read_text()
    assert cli("status").out.startswith("unchanged")
    shutil.rmtree(repo / "ds" / ".git")
    assert cli("checkout").code == 0
