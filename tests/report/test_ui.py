"""``gitexp ui`` as a real process, driven by real headless Chromium."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.report.uihelp import PY, Ui, request, running_ui

LIVE_PY = """\
import pathlib, sys, time
import gitexp

signals = pathlib.Path(sys.argv[1])

def wait(name):
    while not (signals / name).exists():
        time.sleep(0.02)

gitexp.log_metric("loss", 0.5, step=0)
wait("go")
gitexp.log_metric("loss", 0.25, step=1)
wait("end")
"""

ROW_TEXT = """([name, text]) => [...document.querySelectorAll('#table tbody tr[data-i]')]
  .some(tr => tr.querySelector('td.name').textContent === name && tr.textContent.includes(text))"""

POINTS = """(name) => {
  const chart = [...document.querySelectorAll('#series .chart')].find(d => d.dataset.key === 'loss');
  const trace = chart && chart.data.find(t => t.name === name);
  return trace ? trace.x.length : 0;
}"""


@pytest.fixture
def ui(project: Path):
    with running_ui(project) as server:
        yield server


def _live_run(project: Path, name: str, signals: Path, **popen) -> subprocess.Popen:
    """``gitexp run -n NAME`` of the live script, which logs when told through ``signals``."""
    (project / "live.py").write_text(LIVE_PY)
    signals.mkdir()
    return subprocess.Popen(
        [PY, "-m", "gitexp", "run", "-n", name, "--", PY, "live.py", str(signals)],
        cwd=project,
        stdout=subprocess.DEVNULL,
        **popen,
    )


def _open(chromium, ui: Ui, url: str | None = None, *, charts: bool = False):
    """A page of ``ui`` once its table is drawn and it is live (``charts``: and drawn)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    seen: dict[str, list[str]] = {"requests": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(url or ui.url, timeout=60_000)
    page.wait_for_selector("body[data-table-ready='1']", timeout=60_000)
    page.wait_for_selector("#live:not(.off)", timeout=30_000)
    if charts:  # plotly.js comes once the page is left alone a moment
        page.wait_for_selector("body[data-ready='1']", timeout=120_000)
    return context, page, seen


def test_the_page_shows_the_experiments_and_fetches_nothing_from_elsewhere(chromium, ui) -> None:
    context, page, seen = _open(chromium, ui, charts=True)
    try:
        assert page.locator("#table tbody tr[data-i]").count() == 5
        page.wait_for_function("() => document.querySelectorAll('#series .chart').length === 3")
        assert page.locator("#parcoords .parcoords").count() == 1
        page.click("#table thead th[title='sort by acc']")
        names = page.eval_on_selector_all("#table tbody td.name", "c => c.map(x => x.textContent)")
        assert names[:2] == ["base-3", "feat-2"]
        lr = "#table thead th[title='sort by train.lr']"
        assert page.locator(lr).count() == 1
        page.click("#chooser summary")
        page.uncheck("#chooser-list input[data-key='params:train.lr']")
        assert page.locator(lr).count() == 0
        page.reload()
        page.wait_for_selector("body[data-table-ready='1']")
        assert page.locator(lr).count() == 0  # the choice is kept in this browser
        assert page.locator("#table thead th[title='sort by acc']").count() == 1
    finally:
        context.close()
    assert seen["errors"] == []
    assert seen["requests"]
    assert all(url.startswith(ui.base + "/") for url in seen["requests"]), seen["requests"]


SORTED_BY_ACC = (
    "() => [...document.querySelectorAll('#table tbody td.name')].map(x => x.textContent)"
)


class HeldBack:
    """Requests for one URL pattern held in the browser's network until `release`."""

    def __init__(self, page, pattern: str) -> None:
        self.page, self.pattern, self.held = page, pattern, []
        page.route(pattern, self._hold)

    def _hold(self, route) -> None:
        self.held.append(route)

    def release(self) -> None:
        for route in self.held:
            route.continue_()
        self.held.clear()
        self.page.unroute(self.pattern, self._hold)

    def wait(self, timeout_s: float = 60.0) -> None:
        """Until the page has asked for it (it is held from then on)."""
        deadline = time.monotonic() + timeout_s
        while not self.held and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        assert self.held, f"the page never asked for {self.pattern}"


def test_the_table_sorts_and_filters_while_plotly_is_held_back(chromium, ui) -> None:
    """The charts' script is deferred: the table answers before it runs, and while it is
    still on its way (held in the browser's network), and the charts come after it."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    plotly = HeldBack(page, "**/assets/plotly.min.js")
    try:
        page.goto(ui.url, wait_until="domcontentloaded", timeout=60_000)
        page.wait_for_selector("body[data-table-ready='1']", timeout=60_000)
        page.click("#table thead th[title='sort by acc']")  # the first sort, at once
        assert page.evaluate(SORTED_BY_ACC)[:2] == ["base-3", "feat-2"]
        page.fill("#filter", "train.lr>0.01")
        assert page.text_content("#count") == "2 of 5 experiments"
        plotly.wait()  # asked for once the page is left alone, and held
        page.fill("#filter", "")
        assert page.text_content("#count") == "5 experiments"
        page.click("#table thead th[title='sort by acc']")  # again: worst first
        assert page.evaluate(SORTED_BY_ACC)[-2:] == ["feat-2", "base-3"]
        page.fill("#filter", "feat")
        assert page.text_content("#count") == "2 of 5 experiments"
        assert page.evaluate("() => typeof window.Plotly") == "undefined"
        assert "plotly" not in page.evaluate("() => window.gitexpTimes")
        assert page.get_attribute("body", "data-ready") is None
        plotly.release()
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        assert page.locator("#series .chart").count() == 3
    finally:
        context.close()
    assert errors == []


def test_a_filter_that_matches_nothing_by_a_slip_says_why(chromium, ui) -> None:
    """A key that names no column, or a column of numbers compared with a word, is
    said next to the count, not left as a silent "0 of 5"; a real answer says nothing."""
    context, page, seen = _open(chromium, ui)
    problem = "() => { const p = document.getElementById('filter-problem'); return p.hidden ? '' : p.textContent; }"
    try:
        page.fill("#filter", "lr > 0.01")
        assert page.text_content("#count") == "0 of 5 experiments"
        assert page.evaluate(problem) == "No column is named lr: did you mean train.lr?"
        page.fill("#filter", "acc>>0.5")
        assert page.evaluate(problem) == ">0.5 is not a number: acc holds numbers (e.g. acc>0.5)."
        page.fill("#filter", "acc>0.99")  # a true answer: nothing is that good
        assert page.text_content("#count") == "0 of 5 experiments"
        assert page.evaluate(problem) == ""
        page.fill("#filter", "train.lr > 0.01")
        assert page.text_content("#count") == "2 of 5 experiments"
        assert page.evaluate(problem) == ""
    finally:
        context.close()
    assert seen["errors"] == []


def test_the_series_card_counts_the_series_of_the_ticked_experiments(chromium, ui) -> None:
    """Recorded series are read when an experiment is ticked: the card says how many
    the ticked ones have, and that they are loading, never that there are none."""
    context, page, seen = _open(chromium, ui, charts=True)
    card = "() => document.getElementById('series-card').innerText.replace(/\\s+/g, ' ')"
    try:
        # the two picked when the page opens: loss, val_loss and val_acc each
        page.wait_for_function(f"() => ({card})() === '3 series of 2 ticked'", timeout=30_000)
        page.click("#clear")
        assert page.evaluate(card) == "\u2013 series: tick a row"  # an en dash
        series = HeldBack(page, "**/api/series?*")
        page.click("#table tbody tr[data-i]:has(td.name:text-is('feat-1'))")  # not read yet
        series.wait()
        assert page.evaluate(card) == "… series loading"
        assert "Reading the series" in page.text_content("#series")
        series.release()
        page.wait_for_function(f"() => ({card})() === '3 series of 1 ticked'", timeout=30_000)
        page.wait_for_function("() => document.querySelectorAll('#series .chart').length === 3")
    finally:
        context.close()
    assert seen["errors"] == []


def test_a_running_experiment_shows_its_values_as_it_logs_and_its_end(
    chromium, ui, project: Path, tmp_path: Path
) -> None:
    signals = tmp_path / "signals"
    context, page, seen = _open(chromium, ui)
    run = _live_run(project, "live", signals, stderr=subprocess.PIPE, text=True)
    try:
        page.evaluate("() => { window.notReloaded = true; }")
        page.wait_for_function(ROW_TEXT, arg=["live", "running"], timeout=20_000)
        page.wait_for_function(ROW_TEXT, arg=["live", "0.5"], timeout=30_000)
        first = "() => document.querySelector('#table tbody tr[data-i] td.name').textContent"
        assert page.evaluate(first) == "live"  # a run going on comes first, not after the rest
        page.click("#clear")
        page.click("#table tbody tr[data-i]:has(td.name:text-is('live'))")
        page.click("#table tbody tr[data-i]:has(td.name:text-is('base-1'))")
        side = page.text_content("#diff .side")
        assert "running" in side and "· ·" not in side, side  # no commit yet: none shown
        page.wait_for_function(f"() => ({POINTS})('live') === 1", timeout=30_000)

        logged = time.monotonic()
        (signals / "go").touch()
        page.wait_for_function(ROW_TEXT, arg=["live", "0.25"], timeout=30_000)
        shown = time.monotonic() - logged
        assert shown < 2.0, f"the new value took {shown:.2f} s to show"
        page.wait_for_function(f"() => ({POINTS})('live') === 2", timeout=30_000)

        (signals / "end").touch()
        assert run.wait(timeout=60) == 0, run.stderr.read() if run.stderr else ""
        try:
            page.wait_for_function(ROW_TEXT, arg=["live", "success"], timeout=20_000)
        except Exception:
            rows = page.eval_on_selector_all(
                "#table tbody tr[data-i]", "r => r.map(x => x.textContent)"
            )
            problem = page.text_content("#problem")
            raise AssertionError(f"{rows} {problem} {seen['errors']}") from None
        assert page.evaluate("() => window.notReloaded") is True
        assert page.locator("#table tbody tr[data-i]").count() == 6
        # the charts are drawn again once the page is left alone: the series keeps its points
        page.wait_for_function(f"() => ({POINTS})('live') === 2", timeout=20_000)
    finally:
        if run.poll() is None:
            (signals / "go").touch()
            (signals / "end").touch()
            run.wait(timeout=60)
        if run.stderr is not None:
            run.stderr.close()
        context.close()


def test_a_page_opened_while_a_run_goes_on_shows_it(
    chromium, ui, project: Path, tmp_path: Path
) -> None:
    """The page embeds the recorded experiments; the running ones come with the first
    live event, so a page opened mid-run shows the run and what it logged."""
    signals = tmp_path / "signals"
    run = _live_run(project, "ongoing", signals, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = json.loads(request(ui.base + "/api/data").body)["rows"]
            if any(r["n"] == "ongoing" and r["m"] for r in rows):
                break
            time.sleep(0.1)
        page_text = request(ui.base + "/").body.decode()
        assert "base-1" in page_text and "ongoing" not in page_text
        context, page, seen = _open(chromium, ui)
        try:
            page.wait_for_function(ROW_TEXT, arg=["ongoing", "running"], timeout=30_000)
            page.wait_for_function(ROW_TEXT, arg=["ongoing", "0.5"], timeout=30_000)
            assert page.locator("#table tbody tr[data-i]").count() == 6
        finally:
            context.close()
        assert seen["errors"] == []
    finally:
        (signals / "go").touch()
        (signals / "end").touch()
        run.wait(timeout=60)


def test_the_data_and_event_stream_answer_in_plain_http(ui) -> None:
    answer = request(ui.base + "/api/data")
    assert answer.status == 200
    data = json.loads(answer.body)
    assert sorted(r["n"] for r in data["rows"]) == [
        "base-1",
        "base-2",
        "base-3",
        "feat-1",
        "feat-2",
    ]
    assert data["ui"]["version"] == 1
    columns = request(ui.base + "/api/data?form=columns", headers={"Accept-Encoding": "gzip"})
    assert {k.lower(): v for k, v in columns.headers.items()}["content-encoding"] == "gzip"
    compact = json.loads(gzip.decompress(columns.body))
    assert "rows" not in compact
    assert compact["cols"]["n"] == [r["n"] for r in data["rows"]]
    assert compact["cols"]["m"] == [[r["m"][k] for r in data["rows"]] for k in range(2)]
    assert len(columns.body) < len(answer.body) / 2
    assert data["paths"] == [] and all(r["f"] == [] for r in data["rows"])
    asked = request(ui.base + "/api/details?n=base-3&n=feat-2&n=nobody")
    details = json.loads(asked.body)
    assert sorted(details["files"]) == ["base-3", "feat-2"]  # no such experiment: left out
    differ = [
        path
        for path, a, b in zip(details["paths"], *details["files"].values(), strict=True)
        if a != b
    ]
    assert "train.py" in differ
    at = details["paths"].index("train.py")
    texts = {details["blobs"][files[at]] for files in details["files"].values()}
    assert len(texts) == 2 and all("\n" in text for text in texts)


def test_another_origin_cannot_write_and_a_foreign_host_cannot_read(ui) -> None:
    evil = {"Origin": "http://evil.example", "Content-Type": "application/json"}
    answer = request(ui.base + "/api/notes/base-1", method="POST", headers=evil, body=b"{}")
    assert answer.status == 403
    assert b"another origin" in answer.body
    answer = request(ui.base + "/api/notes/base-1", method="POST", body=b"{}")
    assert answer.status == 403  # no token and not from the page itself
    rebound = request(ui.base + "/", headers={"Host": f"attacker.example:{ui.port}"})
    assert rebound.status == 403


def test_a_bind_beyond_loopback_needs_the_printed_token(project: Path) -> None:
    with running_ui(project, "--host", "0.0.0.0") as ui:  # noqa: S104 - the point of the test
        assert "?token=" in ui.url
        token = ui.url.split("?token=", 1)[1]
        assert "token" in "".join(ui.lines)
        assert request(ui.base + "/").status == 401
        assert request(ui.base + "/api/data").status == 401
        assert request(ui.base + "/?token=wrong").status == 401
        page = request(f"{ui.base}/?token={token}")
        assert page.status == 200
        assert "gitexp-token=" in page.headers.get("set-cookie", "")
        bearer = {"Authorization": f"Bearer {token}"}
        assert request(ui.base + "/api/data", headers=bearer).status == 200
        cookie = {"Cookie": f"gitexp-token={token}"}
        assert request(ui.base + "/assets/ui.js", headers=cookie).status == 200


def _notes(project: Path, name: str) -> str:
    proc = subprocess.run(
        ["git", "notes", "--ref=gitexp", "show", f"refs/experiments/{name}"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    return proc.stdout


def test_a_tag_and_a_note_written_in_the_page_are_git_notes(chromium, ui, project: Path) -> None:
    context, page, seen = _open(chromium, ui)
    try:
        page.click("#clear")
        page.click("#table tbody tr[data-i]:has(td.name:text-is('base-2'))")
        card = page.locator("#notes .note-card[data-name='base-2']")
        card.locator("input[name=tag]").fill("best")
        card.locator("button[type=submit]").click()
        page.wait_for_function(ROW_TEXT, arg=["base-2", "best"], timeout=30_000)
        card = page.locator("#notes .note-card[data-name='base-2']")
        card.locator(".note-text").fill("lr 0.01 looks right")
        card.locator(".save-note").click()
        page.wait_for_selector(
            "#notes .note-card[data-name='base-2'] .saved:text-is('saved')", timeout=30_000
        )
        deadline = time.monotonic() + 30
        while "looks right" not in _notes(project, "base-2") and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        context.close()
    assert seen["errors"] == []
    note = json.loads(_notes(project, "base-2"))
    assert note == {"version": 1, "tags": ["best"], "note": "lr 0.01 looks right"}
    shown = subprocess.run(
        [PY, "-m", "gitexp", "show", "--json", "--filter", "tag==best"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [e["name"] for e in json.loads(shown.stdout)["experiments"]] == ["base-2"]


def test_a_page_from_another_origin_cannot_tag(chromium, ui, project: Path) -> None:
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto("about:blank")
        status = page.evaluate(
            """async (url) => {
              try {
                const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"},
                                            body: JSON.stringify({add: ["evil"]})});
                return r.status;
              } catch (e) { return "blocked"; }
            }""",
            ui.base + "/api/notes/base-1",
        )
        page.evaluate(
            """(url) => fetch(url, {method: "POST", mode: "no-cors", body: '{"add": ["evil"]}'})
                .then(() => "sent", () => "blocked")""",
            ui.base + "/api/notes/base-1",
        )
    finally:
        context.close()
    assert status == "blocked"
    assert _notes(project, "base-1") == ""


IMAGES_PY = """\
import sys
import gitexp
from PIL import Image

blue = sys.argv[1] == "blue"
for step in range(3):
    shade = 60 + 90 * step
    gitexp.log_image("sample", Image.new("RGB", (48, 48), (0, 0, shade) if blue else (shade, 0, 0)), step=step)
gitexp.log_metric("acc", 0.5)
"""

FRAMES = """() => [...document.querySelectorAll('#images figure')].map(f => {
  const img = f.querySelector('img');
  return [f.dataset.step, img.getAttribute('src'), img.complete && img.naturalWidth];
})"""


def test_images_show_side_by_side_with_a_step_slider(chromium, project: Path) -> None:
    pytest.importorskip("PIL")
    (project / "images.py").write_text(IMAGES_PY)
    for colour in ("red", "blue"):
        subprocess.run(
            [PY, "-m", "gitexp", "run", "-n", colour, "--", PY, "images.py", colour],
            cwd=project,
            check=True,
            capture_output=True,
        )
    with running_ui(project) as ui:
        context, page, seen = _open(chromium, ui)
        try:
            page.click("#clear")
            for name in ("red", "blue"):
                page.click(f"#table tbody tr[data-i]:has(td.name:text-is('{name}'))")
            shown = f"() => (frames => frames.length === 2 && frames.every(f => f[2] === 48))(({FRAMES})())"
            page.wait_for_function(shown, timeout=30_000)  # read when ticked, then shown
            frames = page.evaluate(FRAMES)
            assert [f[0] for f in frames] == ["2", "2"]
            assert all(f[1].startswith("/api/image/") for f in frames)
            assert frames[0][1] != frames[1][1]
            page.locator("#images input.step").fill("0")
            page.wait_for_function(
                f"() => ({FRAMES})().every(f => f[0] === '0' && f[2] === 48)", timeout=30_000
            )
            assert page.evaluate(FRAMES)[0][1] != frames[0][1]
        finally:
            context.close()
    assert seen["errors"] == []
    assert all(url.startswith(ui.base + "/") for url in seen["requests"])


def test_two_branches_side_by_side_and_their_bests_diffed(chromium, ui) -> None:
    context, page, seen = _open(chromium, ui)
    try:
        page.select_option("#branch-a", "main")
        page.select_option("#branch-b", "feature")
        page.select_option("#branch-metric", label="acc")
        cells = page.eval_on_selector_all("#branches tbody tr", "r => r.map(x => x.innerText)")
        assert cells[0].split("\t") == ["experiments", "3", "2"]
        assert "base-3" in cells[2] and "feat-2" in cells[2]
        page.click("#tick-bests")
        sides = page.eval_on_selector_all(
            "#diff .side .nm", "n => n.map(x => x.firstChild.textContent)"
        )
        assert sides == ["base-3", "feat-2"]
        page.wait_for_selector("#diff details.file summary:has-text('train.py')")  # it differs
    finally:
        context.close()
    assert seen["errors"] == []


def test_a_run_killed_without_a_word_shows_as_crashed_not_gone(
    chromium, ui, project: Path, tmp_path: Path
) -> None:
    signals = tmp_path / "signals"
    context, page, seen = _open(chromium, ui)
    run = _live_run(project, "doomed", signals, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        page.wait_for_function(ROW_TEXT, arg=["doomed", "0.5"], timeout=30_000)
        os.killpg(run.pid, signal.SIGKILL)  # gitexp and its command, as a machine would
        run.wait(timeout=30)
        page.wait_for_function(ROW_TEXT, arg=["doomed", "crashed"], timeout=30_000)
        assert page.locator("#table tbody tr[data-i]").count() == 6
        page.click("#clear")
        for name in ("doomed", "base-1"):
            page.click(f"#table tbody tr[data-i]:has(td.name:text-is('{name}'))")
        page.wait_for_selector("#diff p.empty:has-text('no record yet')")  # no code to diff
        # the UI records nothing; the next command does, and the page shows that record
        assert _experiments(project, "doomed") == []
        shown = subprocess.run(
            [PY, "-m", "gitexp", "show", "--json"], cwd=project, capture_output=True, check=True
        )
        statuses = {e["name"]: e["status"] for e in json.loads(shown.stdout)["experiments"]}
        assert statuses["doomed"] == "crashed"
        page.wait_for_function(
            "() => (window.gitexpReport.data().rows.find(r => r.n === 'doomed') || {}).c",
            timeout=30_000,
        )
        page.wait_for_function(ROW_TEXT, arg=["doomed", "crashed"], timeout=30_000)
        assert page.locator("#table tbody tr[data-i]").count() == 6
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=30)
        context.close()
    assert seen["errors"] == []


def _experiments(project: Path, name: str) -> list[str]:
    refs = subprocess.run(
        ["git", "for-each-ref", "--format=%(refname)", f"refs/experiments/{name}"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    return refs.stdout.split()
