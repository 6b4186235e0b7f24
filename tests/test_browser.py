"""The page in a real browser (Debian's Chromium driven by Playwright): search, marks, a chip."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from web import create_app

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("SEARCH_CHROMIUM") or shutil.which("chromium") or ""
    if not path or not Path(path).exists():
        if os.environ.get("SEARCH_REQUIRE_BROWSER") == "1":
            pytest.fail("SEARCH_REQUIRE_BROWSER=1 but no Chromium found (apt-get install chromium)")
        pytest.skip("no Chromium installed (apt-get install chromium); SEARCH_CHROMIUM may name it")
    return path


@pytest.fixture(scope="module")
def base_url(demo_dir):
    server = make_server("127.0.0.1", 0, create_app({"INDEX_DIR": str(demo_dir)}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        yield page
        browser.close()


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
    page.set_viewport_size({"width": 1280, "height": 800})
