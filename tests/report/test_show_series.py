"""``gitexp show --series KEY``: a sparkline per experiment in the terminal table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("project")


def _column(text: str, header: str) -> dict[str, str]:
    """Experiment name → the cell under ``header`` in the plain table."""
    lines = text.splitlines()
    start = lines[0].index(header)
    return {line.split()[0]: line[start:].strip() for line in lines[1:]}


def test_each_row_gets_a_sparkline_and_the_last_value(cli) -> None:
    result = cli("show", "--series", "loss")
    assert result.code == 0, result.err
    cells = _column(result.out, "loss (series)")
    assert set(cells) == {"base-1", "base-2", "base-3", "feat-1", "feat-2"}
    assert cells["base-3"].startswith("█")
    assert cells["base-3"].split()[0].endswith("▁")
    assert len(cells["base-3"].split()[0]) == 20
    assert cells["base-1"].split()[1] == "0.827"


def test_a_column_name_of_a_plots_file_picks_its_series(cli) -> None:
    result = cli("show", "--series", "val_acc", "--md")
    assert result.code == 0, result.err
    header = result.out.splitlines()[0]
    assert header.endswith("| val_acc (series) |")
    base_1 = next(line for line in result.out.splitlines() if line.startswith("| base-1 "))
    assert base_1.endswith("| ▁▃▆█ 0.5557 |")


def test_json_carries_the_series_points(cli) -> None:
    result = cli("show", "--json", "--series", "loss")
    rows = {e["name"]: e for e in json.loads(result.out)["experiments"]}
    assert rows["feat-1"]["series"]["loss"]["steps"] == list(range(20))
    assert len(rows["feat-1"]["series"]["loss"]["values"]) == 20


def test_experiments_without_the_series_show_a_dash(cli, project: Path) -> None:
    from gitexp.api import Repo

    (project / "quiet.py").write_text("import gitexp\ngitexp.log_metric('loss', 1.0)\n")
    import subprocess

    subprocess.run(["git", "add", "quiet.py"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "quiet"], cwd=project, check=True)
    Repo(project).run([sys.executable, "quiet.py"], name="quiet")
    result = cli("show", "--series", "loss")
    assert _column(result.out, "loss (series)")["quiet"] == "-"


def test_unknown_series_is_one_clear_error(cli) -> None:
    result = cli("show", "--series", "perplexity")
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(
        "error: no experiment has a series 'perplexity'; series found: loss"
    )
