"""``gitexp plots``: interactive HTML, SVG and PNG files of step series, and bad input."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("project")


def _figures(page: str) -> list[dict[str, object]]:
    blob = re.search(r'<script type="application/json" id="figures">(.*?)</script>', page, re.S)
    assert blob, "the page carries its figures as JSON"
    return json.loads(blob.group(1).replace("<\\/", "</"))


def test_html_overlays_each_series_of_the_chosen_experiments(cli, out: Path) -> None:
    target = out / "plots.html"
    result = cli("plots", "base-1", "base-3", "-o", str(target))
    assert result.code == 0, result.err
    assert (
        "3 charts (loss, plots/val.csv:val_loss, plots/val.csv:val_acc) of 2 experiments"
        in result.err
    )
    page = target.read_text()
    figures = _figures(page)
    assert [f["key"] for f in figures] == [
        "loss",
        "plots/val.csv:val_loss",
        "plots/val.csv:val_acc",
    ]
    loss = figures[0]["data"]
    assert [t["legendgroup"] for t in loss] == ["base-1", "base-3"]
    assert [len(t["y"]) for t in loss] == [20, 20]


def test_legend_names_each_experiment_and_the_params_that_differ(cli, out: Path) -> None:
    target = out / "plots.html"
    assert cli("plots", "base-1", "feat-2", "--metric", "loss", "-o", str(target)).code == 0
    names = [t["name"] for t in _figures(target.read_text())[0]["data"]]
    assert names == ["base-1  lr=0.001", "feat-2  lr=0.02"]


def test_html_is_self_contained_with_plotly_inline(cli, out: Path) -> None:
    target = out / "p.html"
    assert cli("plots", "-o", str(target)).code == 0
    page = target.read_text()
    assert "plotly.js v" in page
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=", page)


def test_metric_chooses_series_by_column_name(cli, out: Path) -> None:
    target = out / "acc.html"
    assert cli("plots", "--metric", "val_acc", "-o", str(target)).code == 0
    figures = _figures(target.read_text())
    assert [f["key"] for f in figures] == ["plots/val.csv:val_acc"]
    assert len(figures[0]["data"]) == 5


def test_svg_is_a_static_image_with_the_legend(cli, out: Path) -> None:
    target = out / "loss.svg"
    result = cli("plots", "base-1", "base-2", "--metric", "loss", "-o", str(target))
    assert result.code == 0, result.err
    svg = target.read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "base-1  lr=0.001" in svg and "base-2  lr=0.01" in svg


def test_svg_is_the_same_bytes_when_drawn_again(cli, out: Path) -> None:
    first, second = out / "a.svg", out / "b.svg"
    assert cli("plots", "base-1", "-o", str(first)).code == 0
    assert cli("plots", "base-1", "-o", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()


def test_png_is_a_png_image_of_reasonable_size(cli, out: Path) -> None:
    target = out / "all.png"
    assert cli("plots", "-o", str(target)).code == 0
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and height > 600


def test_json_says_what_was_written(cli, out: Path) -> None:
    target = out / "p.svg"
    result = cli("plots", "feat-1", "--json", "-o", str(target))
    doc = json.loads(result.out)
    assert doc["format"] == "svg" and doc["experiments"] == ["feat-1"]
    assert doc["bytes"] == target.stat().st_size


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["nope"], 1, "error: experiment 'nope' does not exist"),
        (["--metric", "accuracy"], 1, "error: no experiment has a series 'accuracy'"),
    ],
)
def test_unknown_experiment_or_series_fails_and_writes_nothing(
    cli, out: Path, argv: list[str], code: int, message: str
) -> None:
    target = out / "out.html"
    result = cli("plots", *argv, "-o", str(target))
    assert result.code == code
    assert result.err.startswith(message)
    assert list(out.iterdir()) == []


def test_output_in_a_missing_folder_fails_before_any_work(cli, out: Path) -> None:
    result = cli("plots", "-o", str(out / "nowhere" / "p.png"))
    assert result.code == 1
    assert result.err.startswith(
        f"error: cannot write '{out / 'nowhere' / 'p.png'}': "
        f"the folder '{out / 'nowhere'}' does not exist"
    )
    assert not (out / "nowhere").exists()


def test_unknown_extension_is_a_usage_error(cli, out: Path) -> None:
    result = cli("plots", "-o", str(out / "p.pdf"))
    assert result.code == 2
    assert (
        "cannot tell what to write for 'p.pdf'; name the output file *.html, *.svg, *.png"
        in result.err
    )
    assert list(out.iterdir()) == []


def test_a_bad_series_file_fails_and_leaves_an_existing_output_untouched(
    cli, project: Path, out: Path
) -> None:
    (project / "gitexp.yaml").write_text("plots: [plots/]\n")
    (project / "bad.py").write_text(
        "import os\nos.makedirs('plots', exist_ok=True)\n"
        "open('plots/q.tsv', 'w').write('step\\tq\\n0\\t1\\n1\\tn/a\\n')\n"
    )
    from gitexp.api import Repo

    Repo(project).run([sys.executable, "bad.py"], name="bad")
    target = out / "p.html"
    target.write_text("the previous picture")
    result = cli("plots", "base-1", "bad", "-o", str(target))
    assert result.code == 1
    assert result.err.startswith(
        "error: experiment 'bad': series 'plots/q.tsv' row 2: 'q' is 'n/a', not a number"
    )
    assert target.read_text() == "the previous picture"
    assert [p.name for p in out.iterdir()] == ["p.html"]


def test_missing_plots_extra_names_the_install(cli, out: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = cli("plots", "-o", str(out / "p.png"))
    assert result.code == 1
    assert result.err.strip() == (
        "error: static images need matplotlib, which is not installed; "
        "install the plots extra: pip install 'gitexp[plots]'"
    )


def test_experiments_without_the_series_are_named_in_a_warning(
    cli, project: Path, out: Path
) -> None:
    (project / "quiet.py").write_text("import gitexp\ngitexp.log_metric('acc', 1.0)\n")
    import subprocess

    subprocess.run(["git", "add", "quiet.py"], cwd=project, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "quiet"], cwd=project, check=True)
    from gitexp.api import Repo

    Repo(project).run([sys.executable, "quiet.py"], name="quiet")
    result = cli("plots", "quiet", "base-1", "--metric", "loss", "-o", str(out / "p.svg"))
    assert result.code == 0, result.err
    assert (
        "warning: 1 experiment(s) have none of these series and are not drawn: quiet" in result.err
    )
    assert "1 chart (loss) of 1 experiment" in result.err
