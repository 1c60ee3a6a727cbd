"""How fast `gitexp ui` is at many experiments, in real headless Chromium.

    .venv/bin/python benchmarks/ui.py [--experiments 10000] [--repeat 5]

Builds a project of N generated experiment commits (as `gitexp run` writes them:
params, metrics, a 50-point loss series, a run record), starts a real `gitexp ui` on a
free port and opens it in Debian's Chromium (Playwright, /usr/bin/chromium). Prints:

- start: from launching `gitexp ui` until it prints its address (it listens);
- data: from launching `gitexp ui` until ``/api/data`` answers (the page data built);
- answer: the page's clock when the server's first byte came (the first page is made
  as soon as its data is, before it is asked for);
- table: from asking the browser to open the page until its scripts have run and the
  table is drawn and usable (``body[data-table-ready]``), and the page's own clock for
  the same (navigation start to the table, and to the browser painting it);
- stages: the page's clock at each stage of its first drawing (``window.gitexpTimes``:
  script start, data parsed, decoded, table built, painted, parallel coordinates all
  drawn, plotly.js run, series drawn);
- first sort: a column clicked the moment the table is ready, until the table is
  sorted (wall clock, so it includes waiting for whatever the page was busy with);
- page bytes: what the browser received for the page (compressed) and its size unpacked;
- clicks while loading: a sort clicked once a second for the first ``--probe`` seconds
  after the table, each timed until the table is sorted; the longest wait is what a
  user meets while the charts are drawn;
- charts: until the parallel coordinates and series are drawn too (``series_card``:
  what the series card says then: the series of the experiments ticked);
- new experiment: from writing one more experiment commit and ref until the open page
  shows it (the table counts one row more), as the driver sees it and on the page's
  clock (``new_experiment_page_s``: the driver's wait polls up to 500 ms apart, which
  the first figure includes);
- longest task after the table: of the tasks that held the page's thread 50 ms or more
  from the table until the charts were drawn and the clicks ended (the Long Tasks API),
  the longest: what a click landing then waits at most, whoever clicks;
- filter and sort: from the input event (typing an expression, clicking a column)
  until the table is drawn again, on the page's clock; median of ``--repeat``.

Needs the test extra (it borrows the test suite's generator and process helper).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page

from tests.report.conftest import CHROMIUM, CONFIG, FLAGS, TRAIN_PY, make_many, make_repo
from tests.report.uihelp import request, running_ui

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
TIMED = """([selector, action, value]) => {
  const start = performance.now();
  if (action === "fill") {
    const box = document.querySelector(selector);
    box.value = value;
    box.dispatchEvent(new Event("input", {bubbles: true}));
  } else {
    document.querySelector(selector).click();
  }
  const drawn = document.querySelectorAll("#table tbody tr[data-i]").length;
  return [performance.now() - start, drawn, +document.getElementById("table").dataset.rows];
}"""

# Every task that held the page's thread 50 ms or more, as [start, duration] on the
# page's clock: the longest after the table is the longest a click can wait.
LONG_TASKS = """
window.longTasks = [];
new PerformanceObserver(list => list.getEntries().forEach(
  e => window.longTasks.push([e.startTime, e.duration])
)).observe({type: "longtask"});
"""


def build(root: Path, count: int) -> Path:
    project = make_repo(
        root / "proj",
        {
            "params.yaml": "train:\n  lr: 0.001\n  batch: 32\n  optimizer: adam\n",
            "train.py": TRAIN_PY,
            "gitexp.yaml": CONFIG,
            ".gitignore": "metrics.json\n",
        },
    )
    make_many(project, count)
    return project


def probe(page: Page, seconds: float) -> list[float]:
    """Click a sort once a second for ``seconds``; how long each took to answer (ms)."""
    waits = []
    until = time.monotonic() + seconds
    columns = ["acc", "loss"]
    while time.monotonic() < until:
        column = columns[len(waits) % 2]
        clicked = time.monotonic()
        page.click(f"#table thead th[title='sort by {column}']")
        page.wait_for_selector(f"#table thead th.sorted[title='sort by {column}']", timeout=120_000)
        waits.append(round((time.monotonic() - clicked) * 1000, 1))
        time.sleep(max(0.0, 1.0 - (time.monotonic() - clicked)))
    return waits


# When the table's row count changes, on the page's clock (milliseconds since the
# epoch): the driver's own wait polls, at up to 500 ms apart once it has waited a while.
ROWS_CHANGED = """() => {
  window.rowsChangedAt = null;
  new MutationObserver((seen, observer) => {
    window.rowsChangedAt = performance.timeOrigin + performance.now();
    observer.disconnect();
  }).observe(document.getElementById("table"), {attributes: true, attributeFilter: ["data-rows"]});
}"""


def add_experiment(project: Path, page: Page) -> tuple[float, float]:
    """Seconds from writing one more experiment (a commit and its ref) until ``page``
    counts it in its table: as the driver sees it, and on the page's own clock."""
    import pygit2

    repo = pygit2.Repository(str(project))
    rows = int(page.get_attribute("#table", "data-rows") or 0)
    page.evaluate(ROWS_CHANGED)
    last = repo.references["refs/experiments/gen-00000"].peel(pygit2.Commit)
    metrics = repo.create_blob(b'{"acc": 0.999, "loss": 0.001}\n')
    builder = repo.TreeBuilder(last.tree)
    builder.insert("metrics.json", metrics, pygit2.enums.FileMode.BLOB)
    sig = pygit2.Signature("Bench", "bench@example.com")
    name = f"bench-{time.time_ns()}"  # a new one each time a --work project is measured
    written, written_at = time.monotonic(), time.time()
    commit = repo.create_commit(
        None, sig, sig, f"gitexp: {name}\n", builder.write(), list(last.parent_ids)
    )
    repo.references.create(f"refs/experiments/{name}", commit)
    page.wait_for_selector(f"#table[data-rows='{rows + 1}']", timeout=120_000)
    seen = time.monotonic() - written
    changed_at = page.evaluate("() => window.rowsChangedAt")
    return seen, changed_at / 1000 - written_at


def measure(project: Path, repeat: int, probe_s: float = 0.0) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    launched = time.monotonic()
    with running_ui(project) as ui, sync_playwright() as driver:
        started = time.monotonic() - launched
        request(ui.base + "/api/data?form=columns", headers={"Accept-Encoding": "gzip"})
        data_ready = time.monotonic() - launched
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.add_init_script(LONG_TASKS)
        page.goto("about:blank")
        opened = time.monotonic()
        # Nothing asks the page anything before its scripts ran (the page's scripts are
        # deferred, so they have run by DOMContentLoaded): a question asked earlier
        # makes the browser run the driver's own scripts first, on the same thread.
        page.goto(ui.url, wait_until="domcontentloaded", timeout=60_000)
        page.wait_for_selector("body[data-table-ready='1']", timeout=60_000)
        table = time.monotonic() - opened
        page_table = page.evaluate("() => window.gitexpTableAt")
        clicked = time.monotonic()
        page.click("#table thead th[title='sort by loss']")
        page.wait_for_selector("#table thead th.sorted[title='sort by loss']", timeout=60_000)
        first_sort = time.monotonic() - clicked
        sizes = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return [n.transferSize, n.decodedBodySize, n.responseStart]; }"
        )
        waits = probe(page, probe_s)
        page.wait_for_selector("body[data-ready='1']", timeout=120_000)
        charts = time.monotonic() - opened
        stages = page.evaluate("() => window.gitexpTimes || {}")
        after = [d for at, d in page.evaluate("() => window.longTasks") if at >= page_table]
        rows_in_dom = page.locator("#table tbody tr[data-i]").count()
        series_card = " ".join(page.inner_text("#series-card").split())
        new_run, new_run_page = add_experiment(project, page)
        filters, sorts = [], []
        for _ in range(repeat):
            filters.append(page.evaluate(TIMED, ["#filter", "fill", "train.lr>0.01"])[0])
            filters.append(page.evaluate(TIMED, ["#filter", "fill", ""])[0])
            sorts.append(
                page.evaluate(TIMED, ["#table thead th[title='sort by acc']", "click", ""])[0]
            )
        browser.close()
    return {
        "start_s": round(started, 3),
        "data_s": round(data_ready, 3),
        "new_experiment_s": round(new_run, 3),
        "new_experiment_page_s": round(new_run_page, 3),
        "table_s": round(table, 3),
        "answer_page_ms": round(sizes[2], 1),
        "table_page_ms": round(page_table, 1),
        "painted_page_ms": round(stages.get("painted", 0), 1),
        "stages_ms": {name: round(at) for name, at in stages.items()},
        "first_sort_s": round(first_sort, 3),
        "page_bytes": sizes[0],
        "page_bytes_unpacked": sizes[1],
        "click_waits_ms": waits,
        "longest_task_after_table_ms": round(max(after, default=0)),
        "long_tasks_after_table": len(after),
        "charts_s": round(charts, 3),
        "rows_in_dom": rows_in_dom,
        "series_card": series_card,
        "filter_ms": round(statistics.median(filters), 1),
        "filter_max_ms": round(max(filters), 1),
        "sort_ms": round(statistics.median(sorts), 1),
        "sort_max_ms": round(max(sorts), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, help="build the project here, or reuse it")
    parser.add_argument("--probe", type=float, default=0.0, help="seconds of clicks while loading")
    args = parser.parse_args()
    for name, value in IDENTITY.items():
        os.environ.setdefault(name, value)
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        project = work / "proj"
        if not project.exists():
            began = time.monotonic()
            build(work, args.experiments)
            print(f"built {args.experiments} experiments in {time.monotonic() - began:.1f} s")
        figures = measure(project, args.repeat, args.probe)
    load = os.getloadavg()[0]
    print(json.dumps({"experiments": args.experiments, **figures, "load": load}, indent=2))


if __name__ == "__main__":
    main()
