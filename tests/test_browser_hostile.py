"""Hostile articles in a real browser (Chromium via Playwright): their scripts never run."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.browser import serving
from tests.conftest import ingest, write_jsonl
from tests.test_hostile import hostile_articles
from web import create_app

pytestmark = pytest.mark.browser

PAGES = [
    "/?q=hostile",
    "/?" + urlencode({"q": "hostile", "topic": '"><script>window.__pwned=6</script>'}),
    "/article/hostile-script",
    "/article/hostile-url",
]


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser-hostile")
    ingest(folder / "index", write_jsonl(folder / "hostile.jsonl", *hostile_articles()))
    with serving(create_app({"INDEX_DIR": str(folder / "index")})) as url:
        yield url


@pytest.mark.parametrize("bypass_csp", [False, True], ids=["with-csp", "escaping-alone"])
def test_no_script_from_an_article_runs(browser, hostile_url, bypass_csp):
    # With the CSP switched off, escaping alone must keep the payloads inert; with it on, a
    # mistake in escaping would still not run.
    context = browser.new_context(bypass_csp=bypass_csp)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        for path in PAGES:
            response = page.goto(hostile_url + path)
            assert response.status == 200, path
            page.wait_for_load_state("load")
            assert page.evaluate("window.__pwned") is None, path
            # The one script is the page's own autocomplete file.
            assert page.locator('script:not([src="/static/suggest.js"])').count() == 0, path
            assert page.locator("img, svg, iframe").count() == 0, path
            assert page.locator("[onerror], [onload]").count() == 0, path
            assert page.locator('a[href^="javascript:" i]').count() == 0, path
            # The payload is on the page as text a reader can see.
            assert "<script>window.__pwned" in page.inner_text("main"), path
        # Follow every link of the result page: none runs a script either.
        page.goto(hostile_url + "/?q=hostile")
        hrefs = page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(a => a.href)"
        )
        # (the export links are downloads: an attachment the browser saves, never shows)
        for href in page.eval_on_selector_all("a[download]", "links => links.map(a => a.href)"):
            answer = page.request.get(href)
            assert answer.headers["content-disposition"].startswith("attachment;"), href
            assert answer.headers["x-content-type-options"] == "nosniff", href
        for href in hrefs:
            if href.startswith(hostile_url):
                page.goto(href)
                assert page.evaluate("window.__pwned") is None, href
    finally:
        context.close()
    assert dialogs == []


def test_csp_blocks_inline_script(browser, hostile_url):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(hostile_url + "/?q=hostile")
        # As if an injection had slipped through: the policy refuses to run it.
        with pytest.raises(Exception, match="Content Security Policy|CSP|Refused"):
            page.add_script_tag(content="window.__pwned = 10")
        assert page.evaluate("window.__pwned") is None
    finally:
        context.close()
