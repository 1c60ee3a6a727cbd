"""Ticked experiments are found at once among thousands, in ``gitexp ui`` in real Chromium.

The ticked rows (the page's default pick, or a user's ticks) are pinned under the
column names, which stay on top while the table scrolls; "ticked only" shows them
alone in the table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.report.uihelp import running_ui

COUNT = 3000

# The names in the pinned rows, and whether each lies inside the table's scrolled box.
PINNED = """() => {
  const wrap = document.getElementById('table-wrap').getBoundingClientRect();
  return [...document.querySelectorAll('#table thead tr.pinned[data-pin]')].map(tr => {
    const box = tr.getBoundingClientRect();
    const seen = box.top >= wrap.top - 0.5 && box.bottom <= wrap.bottom + 0.5 && box.height > 0;
    return [tr.querySelector('td.name').textContent, seen];
  });
}"""
SCROLLED = "() => document.querySelector('#table tbody tr').classList.contains('spacer')"


@pytest.fixture(scope="module")
def many(many_experiments) -> Path:
    return many_experiments(COUNT)


@pytest.fixture
def page(chromium, many: Path):
    with running_ui(many) as ui:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(ui.url, timeout=60_000)
        page.wait_for_selector("body[data-table-ready='1']", timeout=60_000)
        yield page
        assert errors == []
        context.close()


def _ticked(page) -> list[str]:
    return page.evaluate("() => window.gitexpReport.selected()")


def test_the_default_pick_is_pinned_in_sight_whatever_the_sort_and_scroll(page) -> None:
    picked = _ticked(page)
    assert len(picked) == 2
    assert page.evaluate(PINNED) == [[name, True] for name in picked]
    page.click("#table thead th[title='sort by train.batch']")
    page.evaluate("document.getElementById('table-wrap').scrollTop = 1e9")
    page.wait_for_function(SCROLLED)
    assert page.evaluate(PINNED) == [[name, True] for name in picked]
    # each stays in its place in the table too: the body lists every row once
    assert page.get_attribute("#table", "data-rows") == str(COUNT)


def test_a_row_ticked_far_down_stays_in_sight_after_scrolling_and_sorting(page) -> None:
    page.evaluate("document.getElementById('table-wrap').scrollTop = 40000")
    # the rows there are drawn (the first is a spacer for those above) before one is read
    page.wait_for_function(SCROLLED)
    name = page.locator("#table tbody tr[data-i]").nth(20).locator("td.name").text_content()
    page.locator(f"#table tbody tr:has(td.name:text-is('{name}'))").click()
    page.evaluate("document.getElementById('table-wrap').scrollTop = 0")
    page.click("#table thead th[title='sort by acc']")
    pinned = page.evaluate(PINNED)
    assert pinned[-1] == [name, True] and len(pinned) == 3
    # unticking it in the pinned rows takes it out of them and out of the comparison
    page.click(f"#table thead tr.pinned:has(td.name:text-is('{name}'))")
    assert name not in _ticked(page)
    assert [p[0] for p in page.evaluate(PINNED)] == _ticked(page)


def test_ticked_only_shows_them_alone_and_a_filter_fades_a_pinned_one(page) -> None:
    picked = _ticked(page)
    page.check("#only-ticked")
    assert page.locator("#count").text_content() == f"2 of {COUNT} experiments"
    names = page.locator("#table tbody td.name").all_text_contents()
    assert sorted(names) == sorted(picked)
    assert page.locator("#table thead tr.pinned").count() == 0, "no need to pin them twice"
    page.uncheck("#only-ticked")
    page.fill("#filter", picked[0])
    faded = page.locator("#table thead tr.pinned.out td.name").all_text_contents()
    assert faded == [picked[1]]


def test_past_five_ticked_a_line_counts_the_rest_and_shows_them_alone(page) -> None:
    names = page.locator("#table tbody td.name").all_text_contents()[:8]
    page.evaluate("names => window.gitexpReport.select(names)", names)
    assert [p[0] for p in page.evaluate(PINNED)] == names[:5]
    more = page.locator("#table thead tr.pinned.more")
    assert "and 3 more ticked" in more.text_content()
    page.click("#show-ticked")
    assert page.locator("#count").text_content() == f"8 of {COUNT} experiments"
    assert page.is_checked("#only-ticked")
