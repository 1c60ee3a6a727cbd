"""Images, tags and notes in the report, and the plots page's layout, in real Chromium."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from tests.report.conftest import make_repo

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")

TRAIN = """\
import numpy as np
import gitexp

p = gitexp.params()
for step in range(4):
    shade = (step + 1) / 4 * p["bright"]
    gitexp.log_image("samples/digit", np.full((8, 12), shade), step=step)
    gitexp.log_metric("loss", 1 / (step + 1) / p["bright"], step=step)
gitexp.log_image("confusion", np.eye(3))
gitexp.log_metric("acc", p["bright"])
"""


@pytest.fixture
def imaged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Path:
    root = make_repo(
        tmp_path / "imaged",
        {
            "params.yaml": "bright: 0.5\n",
            "train.py": TRAIN,
            "gitexp.yaml": f"command: {sys.executable} train.py\n",
            ".gitignore": "metrics.json\n",
        },
    )
    monkeypatch.chdir(root)
    assert cli("run", "-n", "dim").code == 0
    assert cli("run", "-n", "bright", "-S", "bright=1.0").code == 0
    assert cli("tag", "bright", "best", "candidate").code == 0
    assert cli("note", "bright", "brighter digits, lower loss").code == 0
    return root


def _pixel(page, selector: str) -> int:
    """The grey value at the top left of the image ``selector`` shows."""
    uri = page.get_attribute(selector, "src")
    import base64

    data = base64.b64decode(uri.split(",", 1)[1])
    return Image.open(io.BytesIO(data)).convert("L").getpixel((0, 0))


def test_report_shows_images_side_by_side_with_a_step_slider(
    visit, cli, imaged: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    assert cli("report", "-o", str(target)).code == 0
    seen = visit(target)
    assert seen.errors == [] and seen.requests == [target.as_uri()]
    page = seen.page
    keys = page.locator("#images .image-key")
    assert keys.evaluate_all("boxes => boxes.map(b => b.dataset.key)") == [
        "samples/digit",
        "confusion",
    ]
    digit = keys.first
    names = digit.locator("figcaption").all_text_contents()
    assert [n.split(" · ")[1].split(" ")[0] for n in names] == ["bright", "dim"]
    assert digit.locator("img").evaluate_all("imgs => imgs.map(i => i.naturalWidth)") == [12, 12]
    assert digit.locator(".step-label").text_content() == "step 3"  # the last step first
    first = "#images .image-key >> nth=0 >> figure >> nth=0 >> img"
    assert _pixel(page, first) == 255  # bright at step 3: 1.0
    digit.locator("input.step").fill("0")
    assert digit.locator(".step-label").text_content() == "step 0"
    assert _pixel(page, first) == 64  # 0.25 at step 0
    assert digit.locator("figure").nth(1).get_attribute("data-step") == "0"
    page.screenshot(path=str(tmp_path / "images.png"), full_page=True)


def test_report_shows_tags_and_notes_and_filters_by_tag(
    visit, cli, imaged: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    assert cli("report", "-o", str(target)).code == 0
    page = visit(target).page
    side = page.locator("#diff .side").first
    assert side.locator(".chip").all_text_contents() == ["best", "candidate"]
    assert side.locator(".note").text_content() == "brighter digits, lower loss"
    assert "best candidate" in page.locator("#table tbody td.tags").all_text_contents()
    page.fill("#filter", "tag==best")
    names = page.eval_on_selector_all("#table tbody td.name", "c => c.map(x => x.textContent)")
    assert names == ["bright"]


PLOT_ONE = """\
import gitexp
p = gitexp.params()
for step in range(30):
    gitexp.log_metric("loss", (1 + p["seed"]) / (step + 1), step=step)
"""


def test_plots_page_uses_the_width_and_its_legend_never_covers_the_axis(
    visit, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(
        tmp_path / "eight",
        {
            "params.yaml": "seed: 0\nlonger_parameter_name: 1\n",
            "train.py": PLOT_ONE,
            "gitexp.yaml": f"command: {sys.executable} train.py\n",
        },
    )
    monkeypatch.chdir(root)
    seeds = ",".join(str(s) for s in range(8))
    assert cli("run", "-n", "seed", "-S", f"seed={seeds}").code == 0
    target = tmp_path / "plots.html"
    assert cli("plots", "-o", str(target)).code == 0
    page = visit(target).page
    chart = page.locator(".chart").first
    assert chart.locator(".scatterlayer .trace").count() == 8
    plot = chart.locator(".nsewdrag").bounding_box()
    legend = chart.locator(".legend").bounding_box()
    axis_title = chart.locator(".xtitle").bounding_box()
    ticks = chart.locator(".xtick").last.bounding_box()
    assert plot["height"] >= 300, plot
    assert legend["y"] >= max(axis_title["y"] + axis_title["height"], ticks["y"] + ticks["height"])
    assert legend["y"] >= plot["y"] + plot["height"]
    page_width = page.evaluate("document.documentElement.clientWidth")
    assert chart.bounding_box()["width"] >= 0.9 * (page_width - 64)  # body padding 32 + 32
    assert plot["width"] >= 0.8 * chart.bounding_box()["width"]
    page.screenshot(path=str(tmp_path / "plots.png"), full_page=True)
