"""The parallel coordinates' axis names stay readable with many axes and long names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.report.conftest import _isolated, make_repo

PARAMS = """\
train:
  learning_rate: 0.001
  weight_decay: 0.0001
  batch_size: 32
  warmup_steps: 100
model:
  hidden_units: 128
  dropout_rate: 0.1
  num_layers: 2
data:
  augmentation_strength: 0.5
optimizer:
  momentum_beta: 0.9
"""
KEYS = [
    "train.learning_rate",
    "train.weight_decay",
    "train.batch_size",
    "train.warmup_steps",
    "model.hidden_units",
    "model.dropout_rate",
    "model.num_layers",
    "data.augmentation_strength",
    "optimizer.momentum_beta",
]
SCORE_PY = """\
import json
import gitexp

p = gitexp.params()
score = p["train"]["learning_rate"] * 100 + p["model"]["dropout_rate"]
for name in ("metrics.json", "eval.json"):
    with open(name, "w") as handle:
        json.dump({"val_accuracy": score}, handle)
"""

# Each axis name's box on the page, its text, its full name (title) and the chart's box.
TITLES = """() => {
  const svg = document.querySelector('#parcoords svg.pc-axes').getBoundingClientRect();
  const titles = [...document.querySelectorAll('#parcoords .pc-axis .pc-title')].map(t => {
    const box = t.getBoundingClientRect();
    const full = t.closest('.pc-axis').querySelector(':scope > title');
    return {text: t.textContent, full: full ? full.textContent : null,
            axis: t.closest('.pc-axis').dataset.label,
            left: box.left, right: box.right, top: box.top, bottom: box.bottom};
  });
  const barTitle = document.querySelector('#parcoords .pc-colorbar-title');
  const bar = barTitle.getBoundingClientRect();
  return {svg: {left: svg.left, right: svg.right}, titles,
          bar: {left: bar.left, right: bar.right, full: barTitle.closest('.pc-colorbar').querySelector(':scope > title')?.textContent ?? null}};
}"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of three real runs, each changing all nine params, two metrics files."""
    with _isolated(tmp_path_factory) as env:
        root = make_repo(
            tmp_path_factory.mktemp("axes") / "proj",
            {
                "params.yaml": PARAMS,
                "score.py": SCORE_PY,
                "gitexp.yaml": "params: [params.yaml]\nmetrics: [metrics.json, eval.json]\n",
                ".gitignore": "metrics.json\neval.json\n",
            },
        )
        env.chdir(root)
        from gitexp.api import Repo
        from gitexp.experiments.run import tracking

        tracking.set_session(None)
        repo = Repo(root)
        for run in range(3):
            overrides = [f"{key}={(run + 2) * (number + 1)}" for number, key in enumerate(KEYS)]
            (result,) = repo.run([sys.executable, "score.py"], overrides=overrides)
            assert result.status == "success"
        target = root.parent / "report.html"
        repo.report(output=target)
    return target


def _overlap(a: dict, b: dict) -> bool:
    return not (
        a["right"] <= b["left"]
        or b["right"] <= a["left"]
        or a["bottom"] <= b["top"]
        or b["bottom"] <= a["top"]
    )


@pytest.mark.parametrize("width", [1400, 900])
def test_ten_axes_of_long_names_neither_overlap_nor_leave_the_chart(
    visit, report: Path, width: int, tmp_path: Path
) -> None:
    seen = visit(report)
    page = seen.page
    page.set_viewport_size({"width": width, "height": 1000})
    page.wait_for_selector("#parcoords .parcoords[data-done='1']")
    page.wait_for_function(
        "w => document.querySelector('#parcoords svg.pc-axes').getAttribute('width') < w", arg=width
    )
    page.locator("#parcoords-panel").screenshot(path=str(tmp_path / f"parcoords-{width}.png"))
    found = page.evaluate(TITLES)
    titles = found["titles"]
    assert [t["axis"] for t in titles] == [*KEYS, "metrics.json:val_accuracy"]
    for number, one in enumerate(titles):
        assert found["svg"]["left"] <= one["left"] and one["right"] <= found["bar"]["left"]
        for other in titles[number + 1 :]:
            assert not _overlap(one, other), (one, other)
    assert found["bar"]["right"] <= found["svg"]["right"], "the colour bar's title is not cut"
    assert found["bar"]["full"] == "metrics.json:val_accuracy"
    assert all(one["full"] == one["axis"] for one in titles), "the full name is the tooltip"
    shortened = [t for t in titles if t["text"] != t["axis"]]
    for one in shortened:  # what is left of a name is its end, the part that tells them apart
        assert one["text"].startswith("…") or "…" in one["text"]
        assert not one["text"].startswith("…json"), "a file's name is dropped whole"
    assert seen.errors == []
