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


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, "not shown"
    return found


def test_phone_shows_the_active_filter_above_the_first_result(page, base_url):
    page.set_viewport_size(PHONE)
    page.goto(base_url + "/?q=energy&topic=Energy")
    chip = page.locator(".chip.on", has_text="Topic: Energy")
    first = page.locator(".hit").first
    assert chip.is_visible()
    assert box(chip)["y"] + box(chip)["height"] <= box(first)["y"]
    assert box(chip)["y"] + box(chip)["height"] <= PHONE["height"]  # on the first screen
    chip.click()  # removable
    page.wait_for_load_state()
    assert "topic=" not in page.url and page.locator(".chip.on").count() == 0


def test_phone_reaches_the_facets_in_one_tap(page, base_url):
    page.set_viewport_size(PHONE)
    page.goto(base_url + "/?q=energy")
    facet = page.locator("#facets .facet-list a").first
    top = 'document.querySelector("#facets").getBoundingClientRect().top'
    assert page.evaluate(top) > PHONE["height"]  # below the results
    link = page.locator("a.to-facets")
    assert link.is_visible() and box(link)["y"] < box(page.locator(".hit").first)["y"]
    link.click()
    page.wait_for_url("**#facets")
    assert -1 <= page.evaluate(top) < PHONE["height"] / 2  # (scrolled there, to a pixel)
    assert facet.is_visible() and 0 <= box(facet)["y"] < PHONE["height"]
    # On a wide screen the facets are beside the results: no link to them.
    page.set_viewport_size(DESKTOP)
    assert not link.is_visible()


PLACEHOLDER_FITS = """() => {
  const box = document.querySelector("input[name=q]");
  const style = getComputedStyle(box);
  const context = document.createElement("canvas").getContext("2d");
  context.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return [box.value, context.measureText(box.placeholder).width, room];
}"""


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_search_box_shows_its_whole_placeholder(page, base_url, viewport):
    page.set_viewport_size(viewport)
    page.goto(base_url + "/")
    value, text_width, room = page.evaluate(PLACEHOLDER_FITS)
    assert value == "" and 0 < text_width <= room


def test_phone_snippets_are_a_few_lines_and_pager_links_fit_a_finger(page, base_url):
    page.set_viewport_size(PHONE)
    page.goto(base_url + "/?q=energy")
    snippets = page.locator(".hit .snippet")
    assert snippets.count() > 1
    style = 'getComputedStyle(document.querySelector(".snippet"))'
    line = float(page.evaluate(f"parseFloat({style}.lineHeight)"))
    for i in range(snippets.count()):
        assert box(snippets.nth(i))["height"] <= 5 * line
    links = page.locator(".pages a, .pages strong")
    assert links.count() >= 2
    for i in range(links.count()):
        assert box(links.nth(i))["height"] >= 44 and box(links.nth(i))["width"] >= 44


def focused(page) -> str:
    return page.evaluate(
        "document.activeElement.closest('.hit h3') ? 'first result' : "
        "(document.activeElement.className || document.activeElement.tagName)"
    )


def test_keyboard_reaches_the_first_result_in_a_few_tabs(page, base_url):
    page.set_viewport_size(DESKTOP)
    page.goto(base_url + "/?q=energy&topic=Energy")
    first_link = page.locator(".hit h3 a").first
    page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    assert page.evaluate("document.activeElement.className") == "skip" and skip.is_visible()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.href") == first_link.evaluate("a => a.href")
    # Without the skip link, Tab passes the header and the sort links, not the facets.
    page.goto(base_url + "/?q=energy&topic=Energy")
    presses = 0
    while page.evaluate("document.activeElement.href") != first_link.evaluate("a => a.href"):
        assert presses < 10, f"{presses} Tabs and still at {focused(page)}"
        page.keyboard.press("Tab")
        presses += 1


def test_suggestions_count_titles_in_words(page, base_url):
    page.goto(base_url + "/")
    page.locator("input[name=q]").press_sequentially("off")
    page.wait_for_selector("#suggestions option[value=office]", state="attached")
    label = "document.querySelector('#suggestions option[value=%s]').label"
    assert page.evaluate(label % "office") == "in 1 title"
    assert page.evaluate(label % "offshore") == "in 2 titles"
