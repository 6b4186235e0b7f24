"""The timeline in a real browser (Debian's Chromium), over Reuters stories: visible above the
results, a bar narrows the search to its period and finds its count, the keyboard reaches it."""

from __future__ import annotations

import re
from datetime import date

import pytest

from tests.browser import serving
from tests.conftest import REUTERS, ingest, need_shared
from web import create_app

pytestmark = pytest.mark.browser

# Two files of Reuters-21578: late February to early March 1987, and 19 to 20 October 1987
# (the whole collection takes half a minute to ingest; these two, a few seconds).
FILES = ("reut2-000.sgm", "reut2-021.sgm")
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    need_shared(REUTERS)
    folder = tmp_path_factory.mktemp("reuters-timeline") / "index"
    ingest(folder, *(REUTERS / name for name in FILES))
    with serving(create_app({"INDEX_DIR": str(folder)})) as url:
        yield url


def total(page) -> int:
    found = re.search(r"([\d,]+) results? for", page.locator(".summary").inner_text())
    assert found, page.locator(".summary").inner_text()
    return int(found.group(1).replace(",", ""))


def bar_count(label: str) -> int:
    return int(re.search(r": ([\d,]+) articles?$", label).group(1).replace(",", ""))


def test_a_bar_narrows_a_reuters_search_to_its_period_and_finds_its_count(page, base_url):
    page.goto(base_url + "/?q=oil")
    timeline = page.locator("figure.timeline")
    assert timeline.is_visible()
    caption = timeline.locator("figcaption").inner_text()
    assert caption.startswith("Matches by week, ") and "1987" in caption
    # Drawn between the summary and the first result.
    first_hit = page.locator(".hit").first.bounding_box()
    drawn = timeline.bounding_box()
    assert page.locator(".summary").bounding_box()["y"] < drawn["y"]
    assert drawn["y"] + drawn["height"] <= first_hit["y"]
    bars = timeline.locator("svg a")
    labels = [bars.nth(i).get_attribute("aria-label") for i in range(bars.count())]
    assert len(labels) >= 2
    before = total(page)
    # The bars count every match with a date (a Reuters story always has one).
    assert sum(map(bar_count, labels)) == before
    busiest = max(range(len(labels)), key=lambda i: bar_count(labels[i]))
    count = bar_count(labels[busiest])
    assert 0 < count < before

    bars.nth(busiest).click()
    page.wait_for_url(re.compile(r"from=1987-\d\d-\d\d&to=1987-\d\d-\d\d"))
    assert total(page) == count
    start, end = (date.fromisoformat(v) for v in re.findall(r"1987-\d\d-\d\d", page.url))
    for when in page.locator(".hit time").evaluate_all("ts => ts.map(t => t.dateTime)"):
        assert start <= date.fromisoformat(when[:10]) <= end
    # The period is a filter in force, shown above the results, and removable.
    chip = page.locator(".chip.on", has_text="Dates:")
    assert chip.is_visible()
    # Within a week, the timeline is by day.
    assert page.locator("figure.timeline figcaption").inner_text().startswith("Matches by day")
    chip.click()
    page.wait_for_load_state()
    assert "from=" not in page.url and total(page) == before
    # The search's feed: announced to feed readers, and linked below the results.
    announced = page.locator('head link[rel="alternate"][type="application/atom+xml"]')
    assert announced.count() == 1 and "q=oil" in announced.get_attribute("href")
    link = page.get_by_role("link", name="Feed of new matches")
    assert link.is_visible() and link.get_attribute("href") == announced.get_attribute("href")


def test_the_bars_are_links_the_keyboard_reaches(page, base_url):
    page.goto(base_url + "/?q=oil")
    bar = page.locator("figure.timeline svg a").first
    assert bar.evaluate("a => a.tabIndex") == 0  # in the Tab order (after the results)
    bar.focus()
    label = bar.get_attribute("aria-label")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == label
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"from=1987"))
    assert total(page) == bar_count(label)


def test_the_timeline_fits_a_phone(page, base_url):
    page.set_viewport_size(PHONE)
    page.goto(base_url + "/?q=oil")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    drawn = page.locator("figure.timeline svg").bounding_box()
    assert drawn["width"] <= PHONE["width"] and drawn["y"] + drawn["height"] < PHONE["height"]
    axis = page.locator(".timeline-axis span")
    assert axis.count() == 2 and axis.first.is_visible() and axis.last.is_visible()
