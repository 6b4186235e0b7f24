"""Another site's page calling the JSON API in a real browser: CORS_ORIGINS lets it, or not."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.browser import serving
from web import create_app

pytestmark = pytest.mark.browser

# A fetch() that a browser must preflight (a header outside the safelisted ones).
CALL = """async (url) => {
    try {
        const response = await fetch(url, {headers: {"X-Requested-With": "front-end"}});
        const body = await response.json();
        return {status: response.status, total: body.total, code: body.error && body.error.code};
    } catch (error) {
        return {blocked: String(error)};
    }
}"""


@pytest.fixture(scope="module")
def front_end():
    """Another site on another port of 127.0.0.1: one page, from which scripts call the API."""
    site = Flask("front_end")
    site.add_url_rule("/", "home", lambda: "<!doctype html><title>Front end</title><p>Hello</p>")
    with serving(site) as url:
        yield url


def _api(demo_dir, origins: str):
    return serving(create_app({"INDEX_DIR": str(demo_dir), "CORS_ORIGINS": origins}))


def _call_from(browser, site: str, url: str) -> dict:
    page = browser.new_page()
    try:
        page.goto(site + "/")
        return page.evaluate(CALL, url)
    finally:
        page.close()


def test_an_allowed_site_reads_results_and_errors(browser, demo_dir, front_end):
    with _api(demo_dir, front_end) as api:
        found = _call_from(browser, front_end, api + "/api/search?q=energy")
        assert found.get("status") == 200 and found["total"] > 0, found
        refused = _call_from(browser, front_end, api + "/api/search?page=0")
        assert refused == {"status": 400, "total": None, "code": "bad_parameter"}


def test_other_sites_are_blocked_by_the_browser(browser, demo_dir, front_end):
    with _api(demo_dir, "https://news.example.org") as api:
        assert "blocked" in _call_from(browser, front_end, api + "/api/search?q=energy")
    with _api(demo_dir, "") as api:
        assert "blocked" in _call_from(browser, front_end, api + "/api/search?q=energy")
