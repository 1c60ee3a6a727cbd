"""A series key with ``/`` names a folder under ``.gitexp/series/`` and reads back as given."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import gitexp
from gitexp.core.metrics import series_key_path
from gitexp.experiments.query.series import SeriesReader
from gitexp.git.repo import GitRepo
from tests.conftest import git, run_gitexp

PY = sys.executable


def test_slash_keys_are_folders_and_read_back_by_key(repo: Path) -> None:
    script = (
        "import gitexp\n"
        "for step in range(3):\n"
        "    gitexp.log_metric('val/acc', 0.5 + step / 10, step=step)\n"
        "    gitexp.log_metric('train/loss', 1.0 / (step + 1), step=step)\n"
    )
    (repo / "fit.py").write_text(script)
    done = run_gitexp(repo, "run", "-n", "folders", "--", PY, "fit.py")
    assert done.returncode == 0, done.stderr
    tree = git(repo, "ls-tree", "-r", "--name-only", "refs/experiments/folders").split()
    assert ".gitexp/series/val/acc.tsv" in tree and ".gitexp/series/train/loss.tsv" in tree
    commit = git(repo, "rev-parse", "refs/experiments/folders").strip()
    lines = SeriesReader(GitRepo.discover(repo)).read(commit, "folders")
    assert lines["val/acc"].values == pytest.approx([0.5, 0.6, 0.7])
    metrics = gitexp.Repo(repo).show()["experiments"][0]["metrics"]
    assert metrics == {"metrics.json": {"val/acc": 0.7, "train/loss": pytest.approx(1 / 3)}}


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("loss", "loss.tsv"),
        ("val/acc", "val/acc.tsv"),
        ("system/gpu0/utilization", "system/gpu0/utilization.tsv"),
        ("../../etc/passwd", "_/_/etc/passwd.tsv"),
        ("/abs//x/", "_/abs/_/x/_.tsv"),
        ("a b:c", "a_b_c.tsv"),
    ],
)
def test_series_paths_stay_inside_the_series_folder(key: str, path: str) -> None:
    assert series_key_path(key) == path
