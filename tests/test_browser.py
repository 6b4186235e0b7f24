"""The page in a real browser (Debian's Chromium driven by Playwright): search, marks, a chip."""

from __future__ import annotations

import pytest

from tests.browser import serving
from web import create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def base_url(demo_dir):
    with serving(create_app({"INDEX_DIR": str(demo_dir)})) as url:
        yield url


@pytest.fixture
def page(browser):
    page = browser.new_page()
    yield page
    page.close()


def test_search_highlight_and_filter_by_topic_chip(page, base_url):
    page.goto(base_url + "/")
    page.fill("input[name=q]", "offshore wind")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector(".hit")
    assert "q=offshore+wind" in page.url
    assert page.locator(".hit mark").count() > 0
    assert page.locator(".hit").count() > 1
    total_before = page.locator(".hit").count()

    chip = page.locator(".hit .chip.topic", has_text="Wind power").first
    chip.click()
    page.wait_for_load_state()
    assert "topic=Wind+power" in page.url
    assert page.locator(".chip.on", has_text="Topic: Wind power").count() == 1
    hits = page.locator(".hit")
    assert 0 < hits.count() <= total_before
    for i in range(hits.count()):
        assert hits.nth(i).locator(".chip.topic", has_text="Wind power").count() == 1


def test_page_reads_on_a_phone(page, base_url):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(base_url + "/?q=election")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # no sideways scrolling
