"""On a terminal, long commands show their progress; piped, they print only their results."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from tests.conftest import run_gitexp
from tests.data.syncsetup import make_origin, make_project
from tests.terminal import on_terminal

GITEXP = [sys.executable, "-m", "gitexp"]


def test_add_counts_the_files_it_reads_on_a_terminal(repo: Path) -> None:
    for number in range(300):
        folder = repo / "data" / f"part{number % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number}.csv").write_text(f"{number},{number * number}\n")
    code, text = on_terminal([*GITEXP, "add", "data"], repo)
    assert code == 0, text
    assert "adding data: 300 files" in text
    assert "added data (300 files" in text


def test_checkout_counts_the_files_it_writes_on_a_terminal(repo: Path) -> None:
    for number in range(300):
        folder = repo / "data" / f"part{number % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number}.csv").write_text(f"{number},{number * number}\n")
    assert run_gitexp(repo, "add", "data").returncode == 0
    shutil.rmtree(repo / "data")
    code, text = on_terminal([*GITEXP, "checkout"], repo)
    assert code == 0, text
    assert "checking out data: 300 files" in text
    assert "checked out data (300 files)" in text


def test_add_piped_prints_no_progress(repo: Path) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "a.csv").write_text("1\n")
    result = run_gitexp(repo, "add", "data")
    assert result.returncode == 0, result.stderr
    assert "adding" not in result.stderr and "added data (1 files" in result.stderr


def test_push_shows_objects_and_bytes_on_a_terminal(tmp_path: Path) -> None:
    root = make_project(tmp_path / "a", make_origin(tmp_path), "../storage")
    code, text = on_terminal([*GITEXP, "push"], root)
    assert code == 0, text
    assert "22/22 objects" in text, text
    assert "kB" in text or "MB" in text
