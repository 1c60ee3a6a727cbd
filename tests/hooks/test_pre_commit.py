"""The pre-commit hook under real ``git commit``: what it refuses, and what it lets by."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import git
from tests.hooks.hookhelp import add_data, cache_dir, commit, install, project, run_git


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = project(tmp_path / "p")
    (path / "gitexp.yaml").write_text("large_file_threshold: 100KiB\n")
    git(path, "add", "gitexp.yaml")
    git(path, "commit", "-q", "-m", "threshold")
    install(path)
    return path


def last_subject(root: Path) -> str:
    return git(root, "log", "-1", "--format=%s").strip()


def test_a_large_untracked_file_is_refused_with_the_commands_to_run(root: Path) -> None:
    (root / "data").mkdir()
    (root / "data" / "big.csv").write_bytes(os.urandom(150 * 1024))
    (root / "small.txt").write_text("fine\n")
    git(root, "add", "data/big.csv", "small.txt")
    result = run_git(root, "commit", "-q", "-m", "big")
    assert result.code == 1 and last_subject(root) == "threshold"
    assert result.err == (
        "gitexp: error: commit refused: 1 staged file(s) over large_file_threshold (100.0 KiB) "
        "that gitexp does not track: data/big.csv (150.0 KiB); track it by content instead: "
        "`git rm --cached data/big.csv && gitexp add data/big.csv`, then stage "
        "data/big.csv.gitexp and the .gitignore beside it\n"
    )
    git(root, "rm", "-q", "--cached", "data/big.csv")
    add_data(root, "data/big.csv", (root / "data" / "big.csv").read_bytes())
    git(root, "add", "data/big.csv.gitexp", "data/.gitignore")
    assert run_git(root, "commit", "-q", "-m", "tracked").code == 0
    assert "data/big.csv\n" not in git(root, "ls-files")


def test_files_under_the_threshold_and_files_already_large_in_head_pass(root: Path) -> None:
    (root / "ok.bin").write_bytes(os.urandom(100 * 1024))  # exactly the threshold
    git(root, "add", "ok.bin")
    assert run_git(root, "commit", "-q", "-m", "ok").code == 0
    git(root, "-c", "core.hooksPath=/nonexistent", "commit", "-q", "--allow-empty", "-m", "x")
    (root / "old.bin").write_bytes(os.urandom(200 * 1024))
    git(root, "add", "old.bin")
    git(root, "-c", "core.hooksPath=/nonexistent", "commit", "-q", "-m", "before hooks")
    (root / "old.bin").write_bytes(os.urandom(210 * 1024))
    git(root, "add", "old.bin")
    assert run_git(root, "commit", "-q", "-m", "grown").code == 0  # git had it already


def test_commit_all_sees_the_index_git_is_about_to_commit(root: Path) -> None:
    (root / "grows.txt").write_text("small\n")
    git(root, "add", "grows.txt")
    assert run_git(root, "commit", "-q", "-m", "small").code == 0
    (root / "grows.txt").write_bytes(os.urandom(150 * 1024))
    result = run_git(root, "commit", "-q", "-a", "-m", "grown")
    assert result.code == 1 and "grows.txt (150.0 KiB)" in result.err


def test_data_gitexp_tracks_must_not_be_staged_into_git(root: Path) -> None:
    add_data(root, "data", {"a.csv": b"1,2\n", "sub/b.csv": b"3,4\n"})
    git(root, "add", "-f", "data/sub/b.csv")
    result = run_git(root, "commit", "-q", "-m", "oops")
    assert result.code == 1
    assert (
        "commit refused: 'data/sub/b.csv' is data that gitexp tracks (data.gitexp), so it "
        "does not belong in git; unstage it with `git rm --cached data/sub/b.csv`"
    ) in result.err


def test_an_invalid_staged_pointer_is_refused(root: Path) -> None:
    (root / "model.pkl.gitexp").write_text("version: 1\nhash: blake3:nothex\nsize: 3\n")
    git(root, "add", "model.pkl.gitexp")
    result = run_git(root, "commit", "-q", "-m", "bad")
    assert result.code == 1
    assert (
        "gitexp: error: commit refused: the staged pointer model.pkl.gitexp: hash "
        "'blake3:nothex' is not a blake3 hash"
    ) in result.err
    assert "restore it with `git restore --staged --worktree model.pkl.gitexp`" in result.err


def test_a_pointer_whose_object_is_not_in_the_cache_is_refused(root: Path) -> None:
    add_data(root, "model.pkl", os.urandom(5000))
    shutil.rmtree(cache_dir(root))
    git(root, "add", "model.pkl.gitexp")
    result = run_git(root, "commit", "-q", "-m", "lost")
    assert result.code == 1
    assert "the staged pointer model.pkl.gitexp names data that is not in the cache" in result.err
    assert "store the data with `gitexp add model.pkl`" in result.err
    assert run_git(root, "commit", "-q", "--no-verify", "-m", "forced").code == 0


def test_a_folder_pointer_needs_its_manifest_and_every_file_in_the_cache(root: Path) -> None:
    add_data(root, "images", {f"{i}.png": os.urandom(100 + i) for i in range(3)})
    cache = cache_dir(root)
    objects = sorted(p for p in (cache / "blake3").glob("*/*"))
    manifest_hex = (root / "images.gitexp").read_text().split("blake3:")[1].split()[0]
    victim = next(p for p in objects if p.parent.name + p.name != manifest_hex)
    victim.chmod(0o644)
    victim.unlink()
    git(root, "add", "images.gitexp", ".gitignore")
    result = run_git(root, "commit", "-q", "-m", "images")
    assert result.code == 1 and "(1 of its folder's file objects)" in result.err
    assert gitexp_restore(root, "images") == 0
    assert commit(root, "images").code == 0


def gitexp_restore(root: Path, rel: str) -> int:
    from tests.hooks.hookhelp import gitexp

    return gitexp(root, "add", rel).code


def test_a_valid_pointer_with_its_data_commits_quietly(root: Path) -> None:
    add_data(root, "model.pkl", os.urandom(500_000))
    git(root, "add", "model.pkl.gitexp", ".gitignore")
    result = run_git(root, "commit", "-q", "-m", "model")
    assert result.code == 0 and result.err == ""


def test_a_merge_commit_does_not_refuse_what_the_other_side_committed(root: Path) -> None:
    git(root, "switch", "-q", "-c", "side")
    (root / "big.bin").write_bytes(os.urandom(150 * 1024))
    git(root, "add", "big.bin")
    git(root, "commit", "-q", "--no-verify", "-m", "big on side")
    (root / "conflict.txt").write_text("side\n")
    git(root, "add", "conflict.txt")
    git(root, "commit", "-q", "-m", "side")
    git(root, "switch", "-q", "main")
    (root / "conflict.txt").write_text("main\n")
    git(root, "add", "conflict.txt")
    git(root, "commit", "-q", "-m", "main")
    assert run_git(root, "merge", "-q", "side").code != 0
    (root / "conflict.txt").write_text("both\n")
    git(root, "add", "conflict.txt")
    assert run_git(root, "commit", "-q", "--no-edit").code == 0


def test_a_bad_gitexp_yaml_refuses_with_its_own_message(root: Path) -> None:
    (root / "gitexp.yaml").write_text("large_file_threshold: huge\n")
    (root / "x.txt").write_text("x\n")
    git(root, "add", "x.txt")
    result = run_git(root, "commit", "-q", "-m", "x")
    assert result.code == 1
    assert "gitexp: error: 'large_file_threshold' is 'huge', not a size" in result.err
