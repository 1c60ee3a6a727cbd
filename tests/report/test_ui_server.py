"""``gitexp ui`` over hundreds of experiments: runs added and removed while it serves.

The server keeps what it read of each experiment commit and reads only new ones; these
tests check that what a user sees stays right: a new run shows with its values, a
removed experiment goes, and the kept reading gives the same page as a fresh one.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pygit2
import pytest

from tests.report.conftest import commit_all, git
from tests.report.uihelp import PY, Ui, request, running_ui

MANY = 300
QUICK_PY = """\
import json
import gitexp

lr = gitexp.params()["train"]["lr"]
gitexp.log_metric("loss", 0.5, step=0)
gitexp.log_metric("loss", 0.0123, step=1)
with open("metrics.json", "w") as handle:
    json.dump({"acc": 2.5 + lr, "loss": 0.0123}, handle)
"""
SHOWN = """(name) => [...document.querySelectorAll('#table tbody tr[data-i]')]
  .filter(tr => tr.querySelector('td.name').textContent === name)
  .map(tr => tr.textContent)"""


@pytest.fixture
def crowd(many_experiments: Callable[[int], Path], tmp_path: Path, monkeypatch) -> Path:
    """A project of `MANY` generated experiments and a quick script to run more."""
    root = many_experiments(MANY)
    (root / "quick.py").write_text(QUICK_PY)
    commit_all(root, "a quick script")
    monkeypatch.chdir(root)
    return root


def _run(root: Path, name: str, *overrides: str) -> None:
    sets = [arg for value in overrides for arg in ("-S", value)]
    subprocess.run(
        [PY, "-m", "gitexp", "run", "-n", name, *sets, "--", PY, "quick.py"],
        cwd=root,
        check=True,
        capture_output=True,
    )


def _data(ui: Ui) -> dict[str, object]:
    answer = request(ui.base + "/api/data")
    assert answer.status == 200
    return json.loads(answer.body)


def _rows_until(ui: Ui, done: Callable[[dict[str, dict[str, object]]], bool]) -> dict:
    """The rows of ``/api/data`` by name, once ``done`` says they are as expected."""
    until = time.monotonic() + 60
    while True:
        data = _data(ui)
        rows = {str(r["n"]): {**r, "_data": data} for r in data["rows"]}  # type: ignore[union-attr]
        if done(rows) or time.monotonic() > until:
            return rows
        time.sleep(0.1)


def _value(row: dict, section: str, label: str) -> object:
    data = row["_data"]
    return row["m" if section == "metrics" else "p"][data[section].index(label)]


def _copies(root: Path, name: str, count: int) -> None:
    """``count`` new experiment commits ``pulled-N``: ``name``'s with other metrics."""
    repo = pygit2.Repository(str(root))
    source = repo.references[f"refs/experiments/{name}"].peel(pygit2.Commit)
    for number in range(count):
        builder = repo.TreeBuilder(source.tree)
        metrics = repo.create_blob(f'{{"acc": 0.{number + 1}, "loss": 1}}\n'.encode())
        builder.insert("metrics.json", metrics, pygit2.enums.FileMode.BLOB)
        commit = repo.create_commit(
            None,
            source.author,
            source.committer,
            f"gitexp: pulled-{number}\n",
            builder.write(),
            list(source.parent_ids),
        )
        repo.references.create(f"refs/experiments/pulled-{number}", commit)


def test_a_new_run_shows_with_its_values_and_a_removed_one_goes(chromium, crowd: Path) -> None:
    with running_ui(crowd) as ui:
        first = _data(ui)
        assert len(first["rows"]) == MANY
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        try:
            page.goto(ui.url, timeout=60_000)
            page.wait_for_selector("body[data-table-ready='1']", timeout=60_000)
            assert page.get_attribute("#table", "data-rows") == str(MANY)

            _run(crowd, "fresh", "train.lr=0.5")
            rows = _rows_until(ui, lambda rows: "fresh" in rows and not rows["fresh"].get("lv"))
            assert "fresh" in rows, "the new run never reached /api/data"
            assert not rows["fresh"].get("lv"), "the run ended but is still shown as running"
            fresh = rows["fresh"]
            assert fresh["s"] == "success"
            assert _value(fresh, "metrics", "acc") == 3.0
            assert _value(fresh, "metrics", "loss") == 0.0123
            assert _value(fresh, "params", "train.lr") == 0.5
            assert len(rows) == MANY + 1
            assert rows["gen-00007"]["m"] == next(
                r["m"] for r in first["rows"] if r["n"] == "gen-00007"
            ), "a row the new run did not touch keeps its values"

            page.wait_for_function(
                f"() => document.getElementById('table').dataset.rows === '{MANY + 1}'",
                timeout=30_000,
            )
            page.fill("#filter", "fresh")
            page.wait_for_function(f"() => ({SHOWN})('fresh').length === 1", timeout=30_000)
            shown = page.evaluate(SHOWN, "fresh")[0]
            assert "3" in shown and "0.0123" in shown and "0.5" in shown, shown

            subprocess.run(
                [PY, "-m", "gitexp", "remove", "gen-00003"],
                cwd=crowd,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            rows = _rows_until(ui, lambda rows: "gen-00003" not in rows)
            assert "gen-00003" not in rows and len(rows) == MANY
            page.fill("#filter", "gen-00003")
            page.wait_for_function(
                "() => document.getElementById('table').dataset.rows === '0'", timeout=30_000
            )
            page.fill("#filter", "")
            page.wait_for_function(
                f"() => document.getElementById('table').dataset.rows === '{MANY}'", timeout=30_000
            )
        finally:
            context.close()
    assert errors == []


def _without_details(data: dict) -> dict:
    """Page data as the UI serves it: no code files and no images (asked for apart)."""
    rows = [{**row, "f": [], "im": {}} for row in data["rows"]]
    return {**data, "paths": [], "blobs": [], "images": [], "rows": rows}


def _compared(data: dict, a: str, b: str) -> tuple[dict, dict]:
    """What a page shows comparing ``a`` and ``b``: the code files that differ (path →
    both texts) and each one's images (key → [step, address]…)."""
    rows = {row["n"]: row for row in data["rows"]}
    texts = []
    for name in (a, b):
        files = rows[name]["f"]
        blobs = [files[i] if i < len(files) else -1 for i in range(len(data["paths"]))]
        texts.append([None if at < 0 else data["blobs"][at] for at in blobs])
    code = {
        path: (x, y) for path, x, y in zip(data["paths"], texts[0], texts[1], strict=True) if x != y
    }
    images = {
        name: {key: [[s, data["images"][at]] for s, at in f] for key, f in rows[name]["im"].items()}
        for name in (a, b)
    }
    return code, images


def _details_data(found: dict) -> dict:
    """The details answer in the page data's form, as the page fills it in."""
    rows = [{"n": n, "f": f, "im": found["frames"][n]} for n, f in found["files"].items()]
    return {
        "paths": found["paths"],
        "blobs": found["blobs"],
        "images": found["images"],
        "rows": rows,
    }


def test_the_kept_reading_gives_the_page_a_fresh_reading_gives(crowd: Path) -> None:
    """Through runs on new code, a name given to a known commit, a tag and removals (the
    newest too, which the code diffs are taken against), the kept reading gives the page
    data a reading from scratch gives, less the code files and images, and those of two
    experiments compared, asked for apart, are what the fresh page data shows of them."""
    from gitexp.experiments.liveview import CachedSource
    from gitexp.experiments.query.live import LiveSource
    from gitexp.project import Project
    from gitexp.report.page import report_data
    from gitexp.report.ui.rows import RowCache

    project = Project.open(crowd)
    kept = CachedSource(project)
    first = report_data(kept.recorded(), title="t", generated="g")
    assert len(first["rows"]) == MANY  # type: ignore[arg-type]
    assert first["paths"] == [], "the code files are read only for the experiments compared"

    rows = RowCache()

    def same() -> int:
        """Checks; how many code files differed in the pairs compared."""
        fresh = report_data(LiveSource(project).recorded(), title="t", generated="g")
        view = kept.recorded()
        assert report_data(view, title="t", generated="g") == _without_details(fresh)
        assert rows.page_data(view, title="t", generated="g") == _without_details(fresh)
        assert kept.experiments() == LiveSource(project).experiments()
        names = [str(row["n"]) for row in fresh["rows"]]  # type: ignore[union-attr]
        differed = 0
        for a, b in ((names[0], names[-1]), (names[-1], names[len(names) // 2])):
            commits = {n: str(r["c"]) for r in fresh["rows"] if (n := r["n"]) in (a, b)}  # type: ignore[union-attr]
            compared = _compared(_details_data(kept.details(commits)), a, b)
            assert compared == _compared(fresh, a, b)
            differed += len(compared[0])
        return differed

    same()
    (crowd / "quick.py").write_text(QUICK_PY + "# another version\n")
    (crowd / "extra.py").write_text("print('a new file')\n")
    commit_all(crowd, "new code")
    _run(crowd, "newer", "train.lr=0.2")
    assert same() >= 2, "the newest run's code (quick.py, extra.py) differs from the oldest's"
    newest = git(crowd, "rev-parse", "refs/experiments/newer").strip()
    git(crowd, "update-ref", "refs/experiments/again", newest)
    same()
    subprocess.run([PY, "-m", "gitexp", "tag", "gen-00001", "best"], cwd=crowd, check=True)
    same()
    _copies(crowd, "gen-00002", 9)  # as a pull brings: many unseen at once
    same()
    git(crowd, "update-ref", "-d", "refs/experiments/newer")
    git(crowd, "update-ref", "-d", "refs/experiments/gen-00010")
    same()
    last = report_data(kept.recorded(), title="t", generated="g")["rows"]
    names = [row["n"] for row in last]  # type: ignore[index]
    assert "again" in names and "newer" not in names and "gen-00010" not in names
    assert len(names) == MANY + 9 and "pulled-8" in names
    assert last[names.index("gen-00001")]["tg"] == ["best"]  # type: ignore[index]
