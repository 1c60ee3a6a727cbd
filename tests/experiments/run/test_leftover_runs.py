"""Without hooks: data left behind by a branch switch stays out of experiments; runs add no .gitignore."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.conftest import commit_all, git

DATA = b"x,y\n" * 25_000


def leave_data_behind(repo: Path, cli) -> None:
    """Branch ``data`` tracks data/train.csv; back on main, the file stays, untracked."""
    git(repo, "switch", "-q", "-c", "data")
    (repo / "data").mkdir()
    (repo / "data" / "train.csv").write_bytes(DATA)
    assert cli("add", "data/train.csv").code == 0
    commit_all(repo, "track data")
    git(repo, "switch", "-q", "main")
    assert (repo / "data" / "train.csv").read_bytes() == DATA
    assert git(repo, "status", "--porcelain") == "?? data/\n"


def tree(repo: Path, ref: str) -> list[str]:
    return git(repo, "ls-tree", "-r", "--name-only", ref).split()


def test_a_run_leaves_out_data_a_branch_tracks_and_says_so(repo: Path, cli) -> None:
    leave_data_behind(repo, cli)
    (repo / "notes.txt").write_text("new, untracked, mine\n")
    result = cli("run", "-n", "e1", "--", sys.executable, "-c", "pass")
    assert result.code == 0, result.err
    files = tree(repo, "refs/experiments/e1")
    assert "data/train.csv" not in files and "data/train.csv.gitexp" not in files
    assert "notes.txt" in files
    assert (
        "note: 'data/train.csv' was left out of the experiment: a branch tracks it with a "
        "pointer file, so it is data left in the workspace by a checkout; remove it, or track "
        "it here with `gitexp add data/train.csv`"
    ) in result.err
    assert (repo / "data" / "train.csv").read_bytes() == DATA


def test_a_run_adds_no_gitignore_to_the_workspace(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text("outs: [out/model.pkl]\n")
    commit_all(repo, "declare an out")
    script = "import os; os.makedirs('out', exist_ok=True); open('out/model.pkl', 'w').write('m')"
    result = cli("run", "-n", "e1", "--", sys.executable, "-c", script)
    assert result.code == 0, result.err
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / "out" / ".gitignore").exists()
    files = tree(repo, "refs/experiments/e1")
    assert "out/model.pkl.gitexp" in files and "out/model.pkl" not in files
    assert git(repo, "show", "refs/experiments/e1:out/.gitignore") == "/model.pkl\n"
    again = cli("run", "-n", "e2", "--", sys.executable, "-c", script)
    assert again.code == 0, again.err
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / "out" / ".gitignore").exists()
    files = tree(repo, "refs/experiments/e2")
    assert "out/model.pkl.gitexp" in files and "out/model.pkl" not in files


def test_data_the_run_itself_writes_there_is_recorded(repo: Path, cli) -> None:
    """The same path, written by the run: its output, not a leftover."""
    leave_data_behind(repo, cli)
    script = "open('data/train.csv', 'w').write('made by the run\\n')"
    result = cli("run", "-n", "e1", "--", sys.executable, "-c", script)
    assert result.code == 0, result.err
    assert "left out" not in result.err
    assert git(repo, "show", "refs/experiments/e1:data/train.csv") == "made by the run\n"
