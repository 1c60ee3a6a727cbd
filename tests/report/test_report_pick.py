"""The experiments a report opens with compare like with like.

The best by its goal is compared against a run of its baseline: never against a run of
another script on the same commit (a data preparation, an evaluation), whose numbers
are not the same measure; the page says why it opened on those two.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.report.conftest import _isolated, make_repo
from tests.report.test_report_goals import _data
from tests.report.uihelp import running_ui

TRAIN_PY = """\
import json
import gitexp

p = gitexp.params()
with open("metrics.json", "w") as handle:
    json.dump({"acc": 0.5 + p["lr"] * 4, "loss": 1 - p["lr"] * 4}, handle)
"""
PREPARE_PY = """\
import json

with open("metrics.json", "w") as handle:
    json.dump({"rows": 1000, "dropped": 3}, handle)
"""
MODEL = """\
with open("model.bin", "w") as handle:
    handle.write(repr(p))
"""
EVALUATE_PY = """\
import json

with open("metrics.json", "w") as handle:
    json.dump({"acc": 0.97}, handle)
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One commit, three scripts: ``tuned`` (train.py, lr changed: the best acc),
    ``plain`` (train.py, epochs changed), ``prep`` (prepare.py, nothing changed: no acc)
    and ``held`` (evaluate.py, nothing changed, but failed: never picked)."""
    with _isolated(tmp_path_factory) as env:
        root = make_repo(
            tmp_path_factory.mktemp("mixed") / "proj",
            {
                "params.yaml": "lr: 0.05\nepochs: 2\n",
                "train.py": TRAIN_PY,
                "prepare.py": PREPARE_PY,
                "evaluate.py": EVALUATE_PY + "raise SystemExit(1)\n",
                "gitexp.yaml": "params: [params.yaml]\nmetrics: [metrics.json]\n",
                ".gitignore": "metrics.json\n",
            },
        )
        env.chdir(root)
        from gitexp.api import Repo
        from gitexp.experiments.run import tracking

        tracking.set_session(None)
        repo = Repo(root)
        runs = [
            ("prep", ["prepare.py"], []),
            ("plain", ["train.py"], ["epochs=3"]),
            ("tuned", ["train.py"], ["lr=0.1"]),
            ("held", ["evaluate.py"], []),
        ]
        for name, script, overrides in runs:
            repo.run([sys.executable, *script], overrides=overrides, name=name)
        target = root.parent / "report.html"
        repo.report(output=target)
    return target


def test_the_best_is_compared_with_a_run_of_its_own_script_not_another(mixed: Path) -> None:
    data = _data(mixed.read_text())
    picked = [data["rows"][i]["n"] for i in data["pick"]]
    # prep ran the baseline as it is (no param changed) but wrote no acc: no comparison
    assert picked == ["tuned", "plain"]


def test_the_page_says_why_it_opened_on_those_two(visit, mixed: Path) -> None:
    page = visit(mixed).page
    said = page.locator("#pick-why").text_content()
    assert "tuned" in said and "plain" in said
    assert "best by acc (higher is better)" in said
    assert "same commit" in said
    # four rows fit in the table's box: nothing is pinned twice
    assert page.locator("#table thead tr.pinned").count() == 0
    page.click("#clear")
    assert page.locator("#pick-why").count() == 0 or not page.locator("#pick-why").is_visible()


def test_a_pick_whose_runs_report_different_metrics_says_so(visit, tmp_path: Path) -> None:
    from gitexp.report.page import render_report

    overview = _Overview(
        [
            _Run("best", "success", {"acc": 0.9, "loss": 0.1}, changed=1),
            _Run("other", "success", {"acc": 0.5}, changed=0),
        ]
    )
    target = tmp_path / "report.html"
    target.write_bytes(render_report(overview, title="t", generated="2026-01-01T00:00:00Z"))
    said = visit(target).page.locator("#pick-why").text_content()
    assert "other reports no loss" in said


# ---- the rule, on its own ---------------------------------------------------------------


def test_with_commands_a_peer_must_have_run_the_same_one() -> None:
    from gitexp.report.best import default_selection

    labels = ["acc"]
    scores = [[0.9], [0.6], [0.7], [0.8]]
    statuses = ["success"] * 4
    baselines = ["b"] * 4
    changed = [1, 0, 1, 0]
    commands = [("python", "train.py"), ("python", "other.py")] * 2
    assert default_selection(labels, scores, statuses, {}, baselines, changed) == [0, 1]
    assert default_selection(labels, scores, statuses, {}, baselines, changed, commands) == [0, 2]
    alone = [("python", "train.py")] + [("python", "other.py")] * 3
    assert default_selection(labels, scores, statuses, {}, baselines, changed, alone) == [0]


def test_a_peer_without_the_metric_is_never_picked_and_the_same_metrics_come_first() -> None:
    from gitexp.report.best import default_selection

    labels = ["acc", "loss", "rows"]
    scores = [[0.9, 0.1, None], [None, None, 1000], [0.5, None, None], [0.6, 0.4, None]]
    statuses = ["success"] * 4
    picked = default_selection(labels, scores, statuses, {}, ["b"] * 4, [2, 0, 0, 1])
    assert picked == [0, 3]
    # only a run with other metrics besides acc: still comparable on acc
    assert default_selection(labels, scores[:3], statuses[:3], {}, ["b"] * 3, [2, 0, 0]) == [0, 2]
    # none with acc: the best alone
    assert default_selection(labels, scores[:2], statuses[:2], {}, ["b"] * 2, [2, 0]) == [0]


class _Run:
    def __init__(self, name: str, status: str, metrics: dict, changed: int) -> None:
        self.name, self.status, self.metrics, self.changed = name, status, metrics, changed
        self.created, self.branch, self.commit, self.baseline = "", "main", name * 5, "base"
        self.params: dict = {}
        self.series: dict = {}
        self.files: dict = {}
        self.tags: list = []
        self.note = ""
        self.images: dict = {}


class _Overview:
    def __init__(self, runs: list[_Run]) -> None:
        self.experiments = runs
        self.blobs: list = []
        self.images: list = []


def test_the_live_page_says_their_code_differs_once_it_has_read_it(
    chromium, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The UI reads the two experiments' code files after the page opens; the line says
    what differs once they are in (a run of a changed script is no like for like)."""
    with _isolated(tmp_path_factory) as env:
        root = make_repo(
            tmp_path_factory.mktemp("code") / "proj",
            {
                "params.yaml": "lr: 0.05\nepochs: 2\n",
                "train.py": TRAIN_PY + MODEL,
                "gitexp.yaml": "params: [params.yaml]\nmetrics: [metrics.json]\n"
                "outs: [model.bin]\n",
                ".gitignore": "metrics.json\n",
            },
        )
        env.chdir(root)
        from gitexp.api import Repo
        from gitexp.experiments.run import tracking

        tracking.set_session(None)
        repo = Repo(root)
        repo.run([sys.executable, "train.py"], overrides=["epochs=3"], name="before")
        changed = TRAIN_PY + MODEL + "# changed, not committed: the run keeps it\n"
        (root / "train.py").write_text(changed)
        repo.run([sys.executable, "train.py"], overrides=["lr=0.1"], name="after")
        with running_ui(root) as ui:
            page = chromium.new_page()  # type: ignore[attr-defined]
            try:
                page.goto(ui.url, timeout=60_000)
                page.wait_for_selector("body[data-table-ready]", timeout=60_000)
                said = page.locator("#pick-why")
                assert "Opened on after" in (said.text_content() or "")
                page.wait_for_function(
                    "() => document.getElementById('pick-why').textContent"
                    ".includes('Their code differs in train.py')",
                    timeout=20_000,
                )
                # their models differ (other params), and that is no difference of code
                assert "Their code differs in train.py." in (said.text_content() or "")
            finally:
                page.close()
