"""Helpers for the framework callback tests: projects that train tiny models on CPU."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import commit_all, git, run_gitexp

PY = sys.executable


def framework(module: str) -> None:
    """Skip the test when ``module`` is genuinely not installed (CI installs them all)."""
    pytest.importorskip(module, reason=f"{module} is not installed (scripts/install-test-deps.sh)")


def run_script(repo: Path, name: str, script: str, *extra: str) -> dict[str, object]:
    """``gitexp run -n NAME -- python fit.py`` of ``script``; its ``show --json`` row."""
    (repo / "fit.py").write_text(script)
    (repo / ".gitignore").write_text("metrics.json\n")
    commit_all(repo, "training script")
    env = {**os.environ, "KERAS_BACKEND": "torch", "TOKENIZERS_PARALLELISM": "false"}
    done = run_gitexp(repo, "run", "-n", name, *extra, "--", PY, "fit.py", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return row(repo, name)


def row(repo: Path, name: str) -> dict[str, object]:
    """The ``show --json`` row of experiment ``name``."""
    shown = run_gitexp(repo, "show", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = orjson.loads(shown.stdout)["experiments"]
    return next(r for r in rows if r["name"] == name)


def series_rows(repo: Path, name: str, key: str) -> list[tuple[float, float]]:
    """The (step, value) rows of the series ``key`` logged in experiment ``name``."""
    text = git(repo, "show", f"refs/experiments/{name}:.gitexp/series/{key}.tsv")
    lines = text.splitlines()
    assert lines[0] == "step\tvalue"
    return [(float(a), float(b)) for a, b in (line.split("\t") for line in lines[1:])]


def tree_files(repo: Path, name: str) -> list[str]:
    return git(repo, "ls-tree", "-r", "--name-only", f"refs/experiments/{name}").split()
