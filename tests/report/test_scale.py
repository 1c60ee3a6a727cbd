"""The report at 5,000 experiments: a file under 20 MB that a browser opens and uses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitexp.api import Repo

pytestmark = pytest.mark.slow

COUNT = 5000
ROUTE_ALL = "**/*"
MARKED_ACC = """() => [...document.querySelectorAll("#table tbody td.best")]
  .filter(td => document.querySelectorAll("#table thead tr.cols th")[td.cellIndex].dataset.label == "acc")
  .map(td => td.closest("tr").querySelector("td.name").textContent)"""


@pytest.fixture(scope="module")
def big(many_experiments) -> tuple[Path, dict]:
    """5,000 generated experiments (commits as `gitexp run` writes them) and their report."""
    root = many_experiments(COUNT)
    target = root.parent / "report.html"
    result = Repo(root).report(output=target)
    assert result.experiments == COUNT
    blob = re.search(
        r'<script type="application/json" id="data">(.*?)</script>', target.read_text(), re.S
    )
    assert blob
    return target, json.loads(blob.group(1).replace("<\\/", "</"))


def test_the_file_is_under_20_mb_and_holds_every_experiment(big) -> None:
    target, data = big
    assert target.stat().st_size < 20 * 1024 * 1024
    assert len(data["rows"]) == COUNT
    assert sum(1 for r in data["rows"] if r["s"] == "failed") == COUNT // 25
    assert all(len(r["x"]["0"][0]) == 50 for r in data["rows"])
    assert len(data["blobs"]) == 3


def test_a_browser_opens_it_sorts_filters_and_draws(big, chromium) -> None:
    target, data = big
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(request_route, request) -> None:
        requests.append(request.url)
        (request_route.continue_ if request.url == target.as_uri() else request_route.abort)()

    page.route(ROUTE_ALL, route)
    page.goto(target.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    times = page.evaluate("window.gitexpTimes")
    print(
        "5,000 experiments, ms from the page's start: "
        + ", ".join(f"{stage} {at:.0f}" for stage, at in times.items())
    )
    assert times["table"] <= times["parcoords"] and times["table"] <= times["plotly"]
    # every line is drawn, a slice per frame: the page answers in between
    chart = page.locator("#parcoords .parcoords[data-done='1']")
    assert chart.get_attribute("data-lines") == chart.get_attribute("data-drawn") == str(COUNT)
    assert int(chart.get_attribute("data-slices") or 0) >= 5
    assert errors == [] and requests == [target.as_uri()]
    assert page.locator("#count").text_content() == f"{COUNT} experiments"
    assert page.get_attribute("#table", "data-rows") == str(COUNT)
    assert page.locator("#table tbody tr[data-i]").count() < 200, "rows outside the window wait"

    # acc: higher is better, so the first click sorts best first (ties in report order)
    acc = data["metrics"].index("acc")
    ranked = sorted(enumerate(data["rows"]), key=lambda item: (-item[1]["m"][acc], item[0]))
    highest, lowest = ranked[0][1], ranked[-1][1]
    page.click("#table thead th[title='sort by acc']")
    assert page.locator("#table tbody td.name").first.text_content() == highest["n"]
    best = {data["rows"][i]["n"] for i in data["best"][acc]}
    marked = page.evaluate(MARKED_ACC)
    assert marked and set(marked) <= best

    sgd = sum(1 for r in data["rows"] if r["p"][data["params"].index("train.optimizer")] == "sgd")
    page.fill("#filter", "train.optimizer == sgd")
    assert page.locator("#count").text_content() == f"{sgd} of {COUNT} experiments"

    page.fill("#filter", "")
    page.evaluate("document.getElementById('table-wrap').scrollTop = 1e9")
    page.wait_for_function(
        "name => [...document.querySelectorAll('#table tbody td.name')].pop().textContent == name",
        arg=lowest["n"],
    )
    assert page.locator("#parcoords .parcoords").count() == 1
    assert page.locator("#series .chart").count() == 1
    context.close()


def test_filtering_while_scrolled_down_shows_the_matches(big, chromium) -> None:
    target, data = big
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(target.as_uri())
    page.wait_for_selector("body[data-table-ready='1']", timeout=120_000)
    page.evaluate("document.getElementById('table-wrap').scrollTop = 1e9")
    page.wait_for_timeout(200)
    name = data["rows"][123]["n"]
    page.fill("#filter", name)
    assert page.locator("#count").text_content() == f"1 of {COUNT} experiments"
    assert page.locator("#table tbody td.name").all_text_contents() == [name]
    context.close()
