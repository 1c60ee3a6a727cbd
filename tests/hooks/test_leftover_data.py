"""Data whose pointer a branch switch took away: removed when the cache holds it, like git's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import git
from tests.hooks.hookhelp import add_data, commit, gitexp, install, project, run_git

DATA = {"a.csv": b"a,1\n" * 100, "sub/b.csv": b"b,1\n" * 50}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """main: no data; branch data: a folder, a file and a gitignore for them. Hooks installed."""
    path = project(tmp_path / "p")
    install(path)
    git(path, "switch", "-q", "-c", "data")
    add_data(path, "data", DATA)
    add_data(path, "big.bin", b"x" * 5000)
    assert commit(path, "data").code == 0
    return path


def test_switching_away_removes_data_the_cache_holds(root: Path) -> None:
    switched = run_git(root, "switch", "-q", "main")
    assert switched.code == 0, switched.err
    assert not (root / "data").exists()
    assert not (root / "big.bin").exists()
    assert git(root, "status", "--porcelain") == ""
    assert "removed big.bin, data: no pointer file names it any more" in switched.err
    back = run_git(root, "switch", "-q", "data")
    assert back.code == 0
    assert (root / "data" / "sub" / "b.csv").read_bytes() == DATA["sub/b.csv"]
    assert (root / "big.bin").read_bytes() == b"x" * 5000


def test_data_the_cache_lacks_stays_with_a_warning(root: Path) -> None:
    (root / "data" / "new.csv").write_bytes(b"only here\n")
    (root / "big.bin").write_bytes(b"changed")
    switched = run_git(root, "switch", "-q", "main")
    assert switched.code == 0
    assert (root / "data" / "new.csv").read_bytes() == b"only here\n"
    assert (root / "data" / "a.csv").read_bytes() == DATA["a.csv"]
    assert (root / "big.bin").read_bytes() == b"changed"
    assert (
        "warning: big.bin stays in the workspace: no pointer file names it any more, and the "
        "cache lacks some of its content; keep it with `gitexp add big.bin`, or remove it"
    ) in switched.err
    assert "warning: data stays in the workspace" in switched.err


def test_a_file_git_tracks_in_its_place_is_left_alone(root: Path) -> None:
    git(root, "switch", "-q", "main")
    git(root, "switch", "-q", "-c", "other")
    (root / "big.bin").write_text("a file git tracks\n")
    git(root, "add", "big.bin")
    assert commit(root, "a tracked big.bin").code == 0
    git(root, "switch", "-q", "data")
    assert (root / "big.bin").read_bytes() == b"x" * 5000
    switched = run_git(root, "switch", "-q", "other")
    assert switched.code == 0, switched.err
    assert (root / "big.bin").read_text() == "a file git tracks\n"
    assert not (root / "data").exists()
    assert gitexp(root, "status").code == 0
