"""Series read from experiment commits: logged ones, declared plot files, bad files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.errors import FormatError, NotFoundError


def _commit(root: Path) -> None:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "script"], cwd=root, check=True)


def _run_script(root: Path, name: str, script: str) -> None:
    """Record one real experiment whose command writes what ``script`` says."""
    (root / "gitexp.yaml").write_text("plots: [plots/]\n")
    (root / "make.py").write_text("import os\nos.makedirs('plots', exist_ok=True)\n" + script)
    _commit(root)
    Repo(root).run([sys.executable, "make.py"], name=name)


def test_logged_and_declared_series_are_keyed_by_name_and_file_column(project: Path) -> None:
    series = Repo(project).series(["base-2"])["base-2"]
    assert list(series) == ["loss", "plots/val.csv:val_loss", "plots/val.csv:val_acc"]
    assert series["loss"]["steps"] == [float(s) for s in range(20)]
    assert series["plots/val.csv:val_acc"]["steps"] == [0.0, 1.0, 2.0, 3.0]
    assert series["plots/val.csv:val_loss"]["values"][0] == 1.0


def test_a_selector_picks_by_whole_key_by_column_or_by_file(project: Path) -> None:
    repo = Repo(project)
    assert list(repo.series(["base-1"], ["val_acc"])["base-1"]) == ["plots/val.csv:val_acc"]
    by_file = repo.series(["base-1"], ["plots/val.csv"])["base-1"]
    assert sorted(by_file) == ["plots/val.csv:val_acc", "plots/val.csv:val_loss"]
    assert list(repo.series(["base-1"], ["loss"])["base-1"]) == ["loss"]


def test_json_lines_without_a_step_column_use_the_row_number(repo: Path) -> None:
    _run_script(
        repo, "jl", "open('plots/lr.jsonl', 'w').write('{\"lr\": 0.5}\\n\\n{\"lr\": 0.25}\\n')\n"
    )
    line = Repo(repo).series(["jl"])["jl"]["plots/lr.jsonl:lr"]
    assert line == {"steps": [0.0, 1.0], "values": [0.5, 0.25]}


def test_tsv_with_an_iteration_column_uses_it_as_the_step(repo: Path) -> None:
    _run_script(
        repo, "it", "open('plots/q.tsv', 'w').write('iteration\\tq\\n10\\t1\\n20\\t2\\n')\n"
    )
    line = Repo(repo).series(["it"])["it"]["plots/q.tsv:q"]
    assert line == {"steps": [10.0, 20.0], "values": [1.0, 2.0]}


def test_a_series_with_a_non_numeric_value_is_an_error_naming_experiment_and_file(
    repo: Path,
) -> None:
    _run_script(repo, "bad", "open('plots/q.tsv', 'w').write('step\\tq\\n0\\t1\\n1\\tabc\\n')\n")
    with pytest.raises(FormatError) as caught:
        Repo(repo).series(["bad"])
    assert "experiment 'bad'" in caught.value.message
    assert "plots/q.tsv" in caught.value.message
    assert "'abc'" in caught.value.message


def test_a_series_with_no_rows_is_an_error(repo: Path) -> None:
    _run_script(repo, "empty", "open('plots/q.csv', 'w').write('step,q\\n')\n")
    with pytest.raises(FormatError, match=r"series 'plots/q\.csv' has no rows"):
        Repo(repo).series(["empty"])


def test_a_selector_that_no_experiment_has_is_not_found(project: Path) -> None:
    with pytest.raises(NotFoundError, match="no experiment has a series 'accuracy'") as caught:
        Repo(project).series(["base-1", "feat-1"], ["accuracy"])
    assert "loss" in (caught.value.hint or "")
