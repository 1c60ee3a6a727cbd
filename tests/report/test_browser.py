"""The report and the plots page in real headless Chromium: they work and fetch nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("project")


def _drawn(png: bytes) -> float:
    """The share of pixels that are not the background."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    background = max(colours)[0]
    return 1 - background / (image.width * image.height)


def _names(page) -> list[str]:
    return page.eval_on_selector_all(
        "#table tbody td.name", "cells => cells.map(c => c.textContent)"
    )


@pytest.fixture
def report(cli, out: Path) -> Path:
    target = out / "report.html"
    assert cli("report", "-o", str(target)).code == 0
    return target


def test_report_opens_without_errors_and_fetches_nothing(visit, report: Path) -> None:
    seen = visit(report)
    assert seen.errors == []
    assert seen.requests == [report.as_uri()]


def test_table_has_a_row_per_experiment(visit, report: Path) -> None:
    page = visit(report).page
    assert page.locator("#table tbody tr[data-i]").count() == 5
    assert page.locator("#count").text_content() == "5 experiments"


def test_clicking_a_column_sorts_and_again_reverses(visit, report: Path) -> None:
    page = visit(report).page
    page.click("#table thead th[title='sort by train.lr']")
    assert _names(page)[0] == "base-1"
    assert _names(page)[-1] == "base-3"
    # acc: higher is better, so its first click puts the best first
    page.click("#table thead th[title='sort by acc']")
    assert _names(page)[:2] == ["base-3", "feat-2"]
    page.click("#table thead th[title='sort by acc']")
    assert _names(page)[0] == "base-1"
    assert _names(page)[-1] == "base-3"


def test_typing_filters_by_text_or_by_expression(visit, report: Path) -> None:
    page = visit(report).page
    page.fill("#filter", "feat")
    assert sorted(_names(page)) == ["feat-1", "feat-2"]
    assert page.locator("#count").text_content() == "2 of 5 experiments"
    page.fill("#filter", "train.lr>0.01")
    assert sorted(_names(page)) == ["base-3", "feat-2"]
    page.fill("#filter", "")
    assert len(_names(page)) == 5


def test_charts_are_drawn(visit, report: Path) -> None:
    page = visit(report).page
    assert page.locator("#parcoords .parcoords").count() == 1
    assert _drawn(page.locator("#parcoords").screenshot()) > 0.02
    charts = page.locator("#series .chart")
    assert charts.count() == 3
    assert _drawn(charts.first.screenshot()) > 0.02
    # opened with the best experiment and the run of its baseline as it was selected
    assert page.locator("#series .chart").first.locator(".scatterlayer .trace").count() == 2


def test_opens_with_the_best_against_its_baseline_and_metrics_before_params(
    visit, report: Path
) -> None:
    page = visit(report).page
    assert page.locator("#diff .side .nm").all_text_contents() == ["base-3", "base-1"]
    labels = page.eval_on_selector_all(
        "#table thead tr.cols th[data-label]", "ths => ths.map(t => t.dataset.label)"
    )
    assert labels.index("acc") < labels.index("train.lr")
    assert labels[:5] == ["Experiment", "Status", "Created", "Branch", "Tags"]


def test_selecting_rows_overlays_their_series_and_diffs_the_first_two(visit, report: Path) -> None:
    page = visit(report).page
    page.click("#clear")
    assert "Tick experiments" in page.locator("#series").text_content()
    page.click("#table tbody tr:has(td.name:text-is('base-1'))")
    page.click("#table tbody tr:has(td.name:text-is('feat-2'))")
    assert page.locator("#series .chart").first.locator(".scatterlayer .trace").count() == 2
    diff = page.locator("#diff")
    assert diff.locator(".side .nm").all_text_contents() == ["base-1", "feat-2"]
    params = diff.locator("table.kv").first.locator("tbody tr").all_inner_texts()
    assert params == ["train.lr\t0.001\t0.02"]
    assert diff.locator("details.file summary").all_inner_texts() == ["train.pymodified"]
    assert diff.locator("table.code td.del").count() >= 1
    assert diff.locator("table.code td.add").count() >= 1


def test_plots_page_draws_each_chart_without_errors_or_requests(visit, cli, out: Path) -> None:
    target = out / "plots.html"
    assert cli("plots", "-o", str(target)).code == 0
    seen = visit(target)
    assert seen.errors == []
    assert seen.requests == [target.as_uri()]
    charts = seen.page.locator(".chart")
    assert charts.count() == 3
    assert charts.first.locator(".scatterlayer .trace").count() == 5
    assert _drawn(charts.first.screenshot()) > 0.02


def test_experiments_without_metrics_or_series_still_make_a_working_page(
    visit, cli, tmp_path: Path
) -> None:
    import subprocess
    import sys

    root = tmp_path / "bare"
    root.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    (root / "params.yaml").write_text("x: 1\n")
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "i"], cwd=root, check=True)
    from gitexp.api import Repo

    Repo(root).run([sys.executable, "-c", "raise SystemExit(2)"], name="fails")
    target = tmp_path / "bare.html"
    assert cli("-C", str(root), "report", "-o", str(target)).code == 0
    seen = visit(target)
    assert seen.errors == []
    page = seen.page
    assert page.locator("#table tbody tr[data-i]").count() == 1
    assert page.locator("#parcoords").text_content() == "No numeric metric to chart."
    # a failed run is never selected for the reader
    assert page.locator("#series").text_content() == (
        "Tick experiments in the table to overlay their series."
    )
    page.click("#table tbody tr:has(td.name:text-is('fails'))")
    assert page.locator("#series").text_content() == "The selected experiments logged no series."


AXES = "() => [...document.querySelectorAll('#parcoords .pc-title')].map(t => t.textContent)"


def _drag_axis(page, label: str, top: float, bottom: float) -> None:
    """Drag along an axis of the chart, from ``top`` to ``bottom`` (0 its top, 1 its foot)."""
    hit = page.locator(f"#parcoords .pc-axis[data-label='{label}'] .pc-hit").bounding_box()
    x, y, length = hit["x"] + hit["width"] / 2, hit["y"] + 6, hit["height"] - 12
    page.mouse.move(x, y + top * length)
    page.mouse.down()
    page.mouse.move(x, y + bottom * length, steps=4)
    page.mouse.up()


def _pixels_of(png: bytes, colour: tuple[int, int, int]) -> int:
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(n for n, c in image.getcolors(maxcolors=1 << 20) or [] if c == colour)


def test_the_chart_has_a_named_axis_per_param_that_varies_and_the_metric(
    visit, report: Path
) -> None:
    page = visit(report).page
    chart = page.locator("#parcoords .parcoords[data-done='1']")
    assert chart.get_attribute("data-lines") == chart.get_attribute("data-drawn") == "5"
    # train.epochs and seed are the same everywhere: no axis for them
    metrics = page.locator("#metric option").all_text_contents()
    assert "acc (higher is better)" in metrics and "loss (lower is better)" in metrics
    page.select_option("#metric", label="acc (higher is better)")
    assert page.evaluate(AXES) == ["train.lr", "acc"]
    ticks = page.locator("#parcoords .pc-axis[data-label='train.lr'] .pc-tick")
    assert ticks.all_text_contents() == ["0.001", "0.01", "0.02", "0.03"]
    page.select_option("#metric", label="loss (lower is better)")
    assert page.evaluate(AXES) == ["train.lr", "loss"]


def test_dragging_along_an_axis_keeps_a_range_that_filters_the_table(visit, report: Path) -> None:
    page = visit(report).page
    _drag_axis(page, "train.lr", 0.0, 0.1)  # the top tenth: lr 0.03 only
    assert _names(page) == ["base-3"]
    assert page.locator("#count").text_content() == "1 of 5 experiments"
    assert "train.lr" in page.locator("#parcoords-ranges").text_content()
    # the chart still draws every line the filter lets through, those outside in grey
    assert page.get_attribute("#parcoords .parcoords", "data-lines") == "5"
    page.wait_for_selector("#parcoords .parcoords[data-done='1'][data-inside='1']")
    # with a filter too, a row must pass both
    page.fill("#filter", "feat")
    assert page.locator("#count").text_content() == "0 of 5 experiments"
    # a click on the axis outside the range lets it go
    hit = page.locator("#parcoords .pc-axis[data-label='train.lr'] .pc-hit").bounding_box()
    page.mouse.click(hit["x"] + hit["width"] / 2, hit["y"] + hit["height"] - 8)
    assert sorted(_names(page)) == ["feat-1", "feat-2"]
    assert page.locator("#parcoords-ranges").is_hidden()
    page.fill("#filter", "")
    page.select_option("#metric", label="acc (higher is better)")
    _drag_axis(page, "acc", 1.0, 0.6)  # upwards: the lower accuracies, 0.51 to 0.63
    assert sorted(_names(page)) == ["base-1", "base-2", "feat-1"]
    page.click("#clear-ranges")
    assert page.locator("#count").text_content() == "5 experiments"


def test_the_experiments_ticked_are_drawn_over_the_rest_in_their_colours(
    visit, report: Path
) -> None:
    page = visit(report).page
    blue = (0x42, 0x69, 0xD0)  # the first ticked experiment's colour, as its dot in the table
    chart = page.locator("#parcoords .parcoords")
    assert chart.get_attribute("data-highlighted") == "2"
    assert _pixels_of(chart.screenshot(), blue) > 50
    page.click("#clear")
    assert chart.get_attribute("data-highlighted") == "0"
    assert _pixels_of(chart.screenshot(), blue) == 0
    page.click("#table tbody tr:has(td.name:text-is('feat-1'))")
    assert chart.get_attribute("data-highlighted") == "1"
    assert _pixels_of(chart.screenshot(), blue) > 50


def test_pointing_at_a_line_names_its_experiment_and_a_click_ticks_it(visit, report: Path) -> None:
    page = visit(report).page
    page.select_option("#metric", label="acc (higher is better)")
    page.click("#clear")
    lr = page.locator("#parcoords .pc-axis[data-label='train.lr'] .pc-hit").bounding_box()
    acc = page.locator("#parcoords .pc-axis[data-label='acc'] .pc-hit").bounding_box()
    # base-3 has the highest lr and the highest acc: its line runs along the top
    x, y = (lr["x"] + acc["x"]) / 2 + lr["width"] / 2, lr["y"] + 6
    page.mouse.move(x, y)
    tip = page.locator("#parcoords .pc-tip")
    tip.wait_for(state="visible")
    assert tip.text_content() == "base-3 · acc 0.8"
    page.mouse.click(x, y)
    assert page.locator("#diff").text_content().startswith("Tick two experiments")
    assert page.locator("#table tbody tr.selected td.name").all_text_contents() == ["base-3"]
    page.mouse.move(x, y + 200)
    assert tip.is_hidden()
