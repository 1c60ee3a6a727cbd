"""The report ranks by goals: each metric's goal is in the page, its best value is marked.

The goal of a metric column comes from ``goals:`` in gitexp.yaml, else from its name;
a metric with neither is never marked. Only successful experiments can be the best.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("scored")

LOGS_THEN_WAITS = """\
import time
import gitexp

gitexp.log_metrics({"acc": 0.999, "loss": 0.001})
print("logged", flush=True)
time.sleep(60)
"""
COLOUR_BAR = """() => {
  const bar = document.querySelector("#parcoords .pc-colorbar");
  const stops = [...bar.querySelectorAll("stop")].map(s => s.getAttribute("stop-color"));
  const title = [...bar.querySelectorAll(".pc-colorbar-title tspan")].map(t => t.textContent);
  return {top: stops[0], bottom: stops[stops.length - 1], title: title.join(" ")};
}"""
YELLOW = "rgb(253,231,37)"
BY_NAME_MAX = {"dir": "max", "by": "name"}
BY_NAME_MIN = {"dir": "min", "by": "name"}


def _data(page: str) -> dict:
    blob = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)
    assert blob, "the page carries its data as JSON"
    return json.loads(blob.group(1).replace("<\\/", "</"))


def _report(cli, out: Path) -> Path:
    target = out / "report.html"
    result = cli("report", "-o", str(target))
    assert result.code == 0, result.err
    return target


def _best(data: dict) -> dict[str, list[str]]:
    """Metric column → the names of the experiments marked best in it."""
    return {
        label: [data["rows"][i]["n"] for i in data["best"][column]]
        for column, label in enumerate(data["metrics"])
    }


def test_the_page_data_carries_each_metric_goal(cli, out: Path) -> None:
    data = _data(_report(cli, out).read_text())
    assert data["version"] == 3
    assert data["metrics"] == ["acc", "loss", "speed"]
    assert data["goals"] == [BY_NAME_MAX, BY_NAME_MIN, None]


def test_the_best_is_the_highest_acc_and_the_lowest_loss(cli, out: Path) -> None:
    data = _data(_report(cli, out).read_text())
    assert _best(data) == {"acc": ["better"], "loss": ["better"], "speed": []}


def test_a_failed_run_with_a_better_number_is_never_the_best(cli, out: Path) -> None:
    data = _data(_report(cli, out).read_text())
    broken = next(r for r in data["rows"] if r["n"] == "broken")
    assert broken["s"] == "failed" and broken["m"][:2] == [0.99, 0.1]
    assert "broken" not in _best(data)["acc"] + _best(data)["loss"]


def test_the_page_opens_on_the_best_successful_run_against_a_run_of_its_baseline(
    cli, out: Path
) -> None:
    data = _data(_report(cli, out).read_text())
    picked = [data["rows"][i]["n"] for i in data["pick"]]
    assert picked[0] == "better"  # not "broken", whose numbers are better but which failed
    assert len(picked) == 2 and picked[1] in ("plain", "worse")


def test_goals_in_gitexp_yaml_come_before_the_name(cli, scored: Path, out: Path) -> None:
    config = scored / "gitexp.yaml"
    config.write_text(config.read_text() + "goals: {acc: min, speed: max}\n")
    data = _data(_report(cli, out).read_text())
    declared = {"by": "gitexp.yaml"}
    assert data["goals"] == [{"dir": "min", **declared}, BY_NAME_MIN, {"dir": "max", **declared}]
    assert _best(data) == {"acc": ["worse"], "loss": ["better"], "speed": ["plain"]}


def test_equal_best_values_are_all_marked(cli, scored: Path, out: Path) -> None:
    import sys

    from gitexp.api import Repo

    Repo(scored).run(
        [sys.executable, "train.py"], overrides=["a=0.9", "l=0.4", "s=1", "fail=false"], name="tie"
    )
    data = _data(_report(cli, out).read_text())
    assert sorted(_best(data)["acc"]) == ["better", "tie"]


def test_an_interrupted_run_is_never_the_best(cli, scored: Path, out: Path) -> None:
    import sys
    import threading

    from gitexp.api import Repo
    from gitexp.errors import Interrupted

    (scored / "stopped.py").write_text(LOGS_THEN_WAITS)
    stop = threading.Event()
    with pytest.raises(Interrupted):
        Repo(scored).run(
            [sys.executable, "stopped.py"],
            name="stopped",
            stop=stop,
            on_output=lambda _chunk, _is_err: stop.set(),  # once it has logged
        )
    data = _data(_report(cli, out).read_text())
    stopped = next(r for r in data["rows"] if r["n"] == "stopped")
    assert stopped["s"] == "interrupted" and stopped["m"][:2] == [0.999, 0.001]
    assert _best(data) == {"acc": ["better"], "loss": ["better"], "speed": []}


def test_a_running_run_is_never_the_best(cli, scored: Path, out: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from gitexp.api import Repo

    (scored / "live.py").write_text(LOGS_THEN_WAITS)
    command = [sys.executable, "-m", "gitexp", "run", "-n", "live", "--", sys.executable, "live.py"]
    proc = subprocess.Popen(command, cwd=scored, start_new_session=True, stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        live: dict[str, object] = {}
        while not live.get("metrics") and time.monotonic() < deadline:
            time.sleep(0.1)
            shown = {str(r["name"]): r for r in Repo(scored).show()["experiments"]}
            live = shown.get("live", {})
        data = _data(_report(cli, out).read_text())
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
    assert live["status"] == "running", "the report was made while the run went on"
    rows = [r for r in data["rows"] if r["n"] == "live"]
    assert all(r["s"] == "running" for r in rows)
    assert _best(data) == {"acc": ["better"], "loss": ["better"], "speed": []}


def test_column_goals_match_file_prefixed_labels_and_leave_unknown_ones_out() -> None:
    from gitexp.report.best import column_goals, goal_data

    labels = ["metrics.json:acc", "eval.json:acc", "val/loss", "throughput"]
    goals = column_goals(labels, {"eval.json:acc": "min", "throughput": "max"})
    assert [goal_data(g) for g in goals] == [
        BY_NAME_MAX,
        {"dir": "min", "by": "gitexp.yaml"},
        BY_NAME_MIN,
        {"dir": "max", "by": "gitexp.yaml"},
    ]
    assert column_goals(["lr", "epochs"], {}) == [None, None]


def test_only_successful_finite_numbers_can_be_the_best() -> None:
    from gitexp.core.goals import Goal
    from gitexp.report.best import best_rows

    most = Goal("acc", "max", "name")
    statuses = ["success", "failed", "interrupted", "crashed", "running", "pruned", "success"]
    values = [0.5, 0.9, 0.9, 0.9, 0.9, 0.9, 0.4]
    assert best_rows(statuses, values, most) == [0]
    assert best_rows(statuses, values, Goal("acc", "min", "name")) == [6]
    assert best_rows(statuses, values, None) == []
    assert best_rows(["success"] * 4, [True, None, "0.9", 0.1], most) == [3]
    assert best_rows(["success"] * 3, [float("nan"), 2, 2.0], most) == [1, 2]
    assert best_rows(["failed"], [1.0], most) == []


# ---- in a real browser ----------------------------------------------------------------

MARKED = """() => [...document.querySelectorAll("#table tbody td.best")].map(td => {
  const row = td.closest("tr").querySelector("td.name").textContent;
  const head = document.querySelectorAll("#table thead tr.cols th")[td.cellIndex];
  return [row, head.getAttribute("data-label"), td.title, getComputedStyle(td).fontWeight];
})"""


def _names(page) -> list[str]:
    return page.eval_on_selector_all(
        "#table tbody td.name", "cells => cells.map(c => c.textContent)"
    )


def test_the_best_cells_are_marked_as_a_user_sees_them(visit, cli, out: Path) -> None:
    seen = visit(_report(cli, out))
    page = seen.page
    assert seen.errors == []
    marked = sorted(page.evaluate(MARKED))
    assert [m[:2] for m in marked] == [["better", "acc"], ["better", "loss"]]
    assert [m[2] for m in marked] == [
        "best: higher is better (by its name)",
        "best: lower is better (by its name)",
    ]
    assert all(int(m[3]) >= 600 for m in marked), "the best value is bold"
    plain_acc = page.locator("#table tbody tr:has(td.name:text-is('plain')) td.num").first
    assert int(plain_acc.evaluate("td => getComputedStyle(td).fontWeight")) < 600
    assert "higher is better" in page.locator(
        "#table thead th[data-label='acc'] .goal"
    ).get_attribute("title")
    assert page.locator("#table thead th[data-label='speed'] .goal").count() == 0
    assert "best" in page.locator("#legend").text_content()


def test_sorting_a_metric_first_puts_the_best_first(visit, cli, out: Path) -> None:
    page = visit(_report(cli, out)).page
    page.click("#table thead th[title='sort by acc']")
    assert _names(page) == ["broken", "better", "plain", "worse"]
    page.click("#table thead th[title='sort by acc']")
    assert _names(page) == ["worse", "plain", "better", "broken"]
    page.click("#table thead th[title='sort by loss']")
    assert _names(page) == ["broken", "better", "plain", "worse"]
    page.click("#table thead th[title='sort by speed']")
    assert _names(page) == ["broken", "worse", "better", "plain"]


def test_filtering_marks_the_best_of_what_is_shown(visit, cli, out: Path) -> None:
    page = visit(_report(cli, out)).page
    page.fill("#filter", "acc < 0.8")
    assert sorted(_names(page)) == ["plain", "worse"]
    assert sorted(m[:2] for m in page.evaluate(MARKED)) == [["plain", "acc"], ["plain", "loss"]]


def test_parallel_coordinates_colour_better_the_same_way_whatever_the_goal(
    visit, cli, out: Path
) -> None:
    page = visit(_report(cli, out)).page
    assert page.locator("#metric").input_value() == "0", "the first metric with a goal"
    acc = page.evaluate(COLOUR_BAR)
    page.select_option("#metric", "1")
    loss = page.evaluate(COLOUR_BAR)
    # the bar runs from the highest value (top) to the lowest: better is yellow
    assert (acc["top"], loss["bottom"]) == (YELLOW, YELLOW)
    assert acc["title"] == "acc higher is better"
    assert loss["title"] == "loss lower is better"
    page.select_option("#metric", "2")
    speed = page.evaluate(COLOUR_BAR)
    assert speed["top"] == YELLOW and speed["title"] == "speed"


def test_a_metric_goal_in_gitexp_yaml_orders_the_colour_scale(
    visit, cli, scored: Path, out: Path
) -> None:
    config = scored / "gitexp.yaml"
    config.write_text(config.read_text() + "goals: {acc: min}\n")
    page = visit(_report(cli, out)).page
    acc = page.evaluate(COLOUR_BAR)
    assert acc["bottom"] == YELLOW
    assert acc["title"] == "acc lower is better"
    marked = sorted(m[:2] for m in page.evaluate(MARKED))
    assert marked == [["better", "loss"], ["worse", "acc"]]


def test_the_diff_says_which_change_is_better(visit, cli, out: Path) -> None:
    page = visit(_report(cli, out)).page
    page.click("#clear")
    page.click("#table tbody tr:has(td.name:text-is('plain'))")
    page.click("#table tbody tr:has(td.name:text-is('better'))")
    metrics = page.locator("#diff table.kv").nth(1)
    changes = {
        row.locator("td").first.text_content(): row.locator("td").last.get_attribute("class")
        for row in metrics.locator("tbody tr").all()
    }
    assert changes == {"acc": "better", "loss": "better", "speed": None}
