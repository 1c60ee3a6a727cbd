"""``gitexp report``: the data the page carries, its self-containment, and bad input."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("project")


def _data(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert blob, "the page carries its data as JSON"
    return json.loads(blob.group(1).replace("<\\/", "</"))


def test_report_holds_every_experiment_with_params_metrics_and_series(cli, out: Path) -> None:
    target = out / "report.html"
    result = cli("report", "-o", str(target))
    assert result.code == 0, result.err
    assert re.fullmatch(
        r"wrote .*report\.html \(1\.\d MiB\): 5 experiments; open it in a browser\n", result.err
    )
    data = _data(target.read_text())
    assert data["version"] == 3
    assert sorted(r["n"] for r in data["rows"]) == [
        "base-1",
        "base-2",
        "base-3",
        "feat-1",
        "feat-2",
    ]
    assert data["params"] == ["train.lr", "train.epochs", "seed"]
    assert data["metrics"] == ["loss", "acc"]
    assert data["keys"] == ["loss", "plots/val.csv:val_loss", "plots/val.csv:val_acc"]
    row = next(r for r in data["rows"] if r["n"] == "feat-2")
    assert row["p"] == [0.02, 4, 1] and row["m"][1] == 0.7 and row["b"] == "feature"
    steps, values = row["x"]["0"]
    assert steps == list(range(20)) and values[0] == 1


def test_code_that_differs_between_experiments_is_embedded_once(cli, out: Path) -> None:
    target = out / "report.html"
    assert cli("report", "-o", str(target)).code == 0
    data = _data(target.read_text())
    assert data["paths"] == ["train.py"]
    texts = data["blobs"]
    assert len(texts) == 2 and all("gitexp.log_metric" in t for t in texts)
    by_name = {r["n"]: r["f"][0] for r in data["rows"]}
    assert by_name["base-1"] == by_name["base-3"] != by_name["feat-1"] == by_name["feat-2"]
    assert "0.45 *" in texts[by_name["feat-1"]]


def test_page_is_one_file_that_fetches_nothing(cli, out: Path) -> None:
    target = out / "report.html"
    assert cli("report", "-o", str(target)).code == 0
    page = target.read_text()
    assert "plotly.js v" in page
    assert not re.search(r"<(script|img|iframe)[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)
    assert "@import" not in page and "url(http" not in page
    assert [p.name for p in out.iterdir()] == ["report.html"]


def test_branch_keeps_the_experiments_whose_baseline_is_on_it(
    cli, project: Path, out: Path
) -> None:
    target = out / "main.html"
    assert cli("report", "--branch", "main", "-o", str(target)).code == 0
    data = _data(target.read_text())
    assert sorted(r["n"] for r in data["rows"]) == ["base-1", "base-2", "base-3"]
    assert data["branches"] == ["main"]


def test_title_is_the_folder_name_unless_given(cli, out: Path) -> None:
    target = out / "r.html"
    assert cli("report", "-o", str(target)).code == 0
    assert "<title>proj: experiments</title>" in target.read_text()
    assert cli("report", "--title", "Ablations <v2>", "-o", str(target)).code == 0
    page = target.read_text()
    assert "<title>Ablations &lt;v2&gt;</title>" in page
    assert _data(page)["title"] == "Ablations <v2>"


def test_unknown_branch_fails_and_writes_nothing(cli, out: Path) -> None:
    result = cli("report", "--branch", "nope", "-o", str(out / "r.html"))
    assert result.code == 1
    assert result.err.startswith("error: 'nope' is not an experiment, branch, tag or commit")
    assert list(out.iterdir()) == []


def test_output_in_a_missing_folder_fails(cli, out: Path) -> None:
    result = cli("report", "-o", str(out / "missing" / "r.html"))
    assert result.code == 1
    assert "the folder" in result.err and "does not exist" in result.err
    assert list(out.iterdir()) == []


def test_report_must_be_html(cli, out: Path) -> None:
    result = cli("report", "-o", str(out / "r.png"))
    assert result.code == 2
    assert "name the output file *.html" in result.err


def test_no_experiments_on_the_branch_is_an_error(cli, project: Path, out: Path) -> None:
    import subprocess

    subprocess.run(["git", "checkout", "-q", "--orphan", "empty"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "empty", "--allow-empty"], cwd=project, check=True)
    result = cli("report", "--branch", "empty", "-o", str(out / "r.html"))
    assert result.code == 1
    assert result.err.startswith("error: there are no experiments on empty to report")


def test_a_bad_series_file_fails_the_report(cli, project: Path, out: Path) -> None:
    (project / "gitexp.yaml").write_text("plots: [plots/]\n")
    (project / "bad.py").write_text(
        "import os\nos.makedirs('plots', exist_ok=True)\n"
        "open('plots/e.csv', 'w').write('step,e\\n')\n"
    )
    from gitexp.api import Repo

    Repo(project).run([sys.executable, "bad.py"], name="empty-series")
    result = cli("report", "-o", str(out / "r.html"))
    assert result.code == 1
    assert result.err.startswith(
        "error: experiment 'empty-series': series 'plots/e.csv' has no rows"
    )
    assert list(out.iterdir()) == []


def test_report_needs_no_plotly_package(cli, out: Path, monkeypatch) -> None:
    # plotly.js ships inside gitexp: the report works where the plotly package is absent
    monkeypatch.setitem(sys.modules, "plotly", None)
    target = out / "r.html"
    assert cli("report", "-o", str(target)).code == 0
    page = target.read_text()
    assert "plotly.js v4" in page and "parcoords" in page
    assert target.stat().st_size < 2_000_000
