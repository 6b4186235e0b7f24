"""The search and article pages as a reader meets them: past the last page, back to the search,
sub-headings, places and datelines, the time taken, the icon."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from search.article import body_blocks
from search.engine.highlight import snippet
from tests.conftest import ingest, write_jsonl
from web import create_app


def page(client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


def hit_links(text: str) -> list[str]:
    """The result links of a search page, unescaped."""
    return [html.unescape(h) for h in re.findall(r'<h3><a href="([^"]+)"', text)]


def back_of(link: str) -> str | None:
    """The ``back`` parameter of a link."""
    return parse_qs(urlsplit(link).query).get("back", [None])[0]


def test_a_page_past_the_last_says_so_and_links_back(client):
    last = page(client, "/?q=energy")
    assert 'aria-label="Pages"' in last  # (more than one page: the last one is page 2)
    text = page(client, "/?q=energy&page=99")
    assert "No page 99" in text
    assert "No articles found" not in text
    assert 'href="/?q=energy&amp;page=2">Go to the last page (2)</a>' in text
    assert 'aria-label="Pages"' not in text  # no pager counting up to a page 99
    # One page of results: the link goes to page 1, the page without a page number.
    one = page(client, "/?q=wetlands&page=5")
    assert 'href="/?q=wetlands">Go to page 1</a>' in one
    # Nothing found at all: that is what the page says, whatever the page number.
    none = page(client, "/?q=zzyzxqq&page=3")
    assert "No articles found" in none and "No page" not in none


def test_no_sort_or_explain_links_without_results(client):
    assert "why these ranked" in page(client, "/?q=energy")
    text = page(client, "/?q=zzyzxqq")
    assert "No articles found" in text
    assert "Sort:" not in text and "why these ranked" not in text and "sort=newest" not in text


def test_the_time_a_search_took_is_shown(client):
    text = page(client, "/?q=energy")
    took = r'results for <strong>energy</strong>\s*<span class="took">\(\d+(\.\d)? ms\)'
    assert re.search(took, text)


def test_result_links_carry_the_search_and_the_article_page_goes_back_to_it(client):
    search = "/?" + urlencode({"q": "energy", "topic": "Energy", "sort": "newest", "page": 1})
    links = hit_links(page(client, search))
    assert links and all(link.startswith("/article/") for link in links)
    back = "/?q=energy&topic=Energy&sort=newest"
    assert all(back_of(link) == back for link in links)
    article = page(client, links[0])
    assert f'<a href="{html.escape(back)}">← Back to the results</a>' in article
    # The search box holds the query; similar articles keep the way back too.
    assert 'name="q" value="energy"' in article
    similar = re.findall(r'<li><a href="(/article/[^"]+)"', article)
    assert similar and all(back_of(html.unescape(s)) == back for s in similar)


def test_a_plain_search_adds_no_back_parameter(client):
    links = hit_links(page(client, "/?q=energy"))
    assert back_of(links[0]) == "/?q=energy"
    links = hit_links(page(client, "/"))
    assert "?" not in links[0]
    article = page(client, links[0])
    assert '<a href="/">← Search</a>' in article and 'name="q" value=""' in article


@pytest.mark.parametrize(
    "back",
    [
        "https://evil.example/?q=energy",
        "//evil.example/?q=energy",
        "/\\evil.example/?q=energy",
        "javascript:alert(1)",
        "/help?q=energy",
        "/article/x",
        "/?q=energy#x",
        "/?q=energy&nope=1",  # not a search this site would make
        "/?q=energy&page=0",
        "/?q=%00",
        "/?q=energy&&=",
        "/?q=%FF%FE",  # not text: refused, as the search itself refuses it
        "/?q=energy&topic=%C3",
    ],
)
def test_the_way_back_is_only_ever_a_search_of_this_site(client, back):
    links = hit_links(page(client, "/"))
    article = page(client, links[0] + "?" + urlencode({"back": back}))
    assert '<a href="/">← Search</a>' in article
    assert "evil" not in article and "javascript:" not in article


def test_the_way_back_is_rebuilt_not_echoed(client):
    links = hit_links(page(client, "/"))
    back = "/?page=2&q=energy&per_page=10&sort=relevance"
    article = page(client, links[0] + "?" + urlencode({"back": back}))
    assert '<a href="/?q=energy&amp;page=2">← Back to the results</a>' in article


def test_favicon(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/svg+xml" and response.data.startswith(b"<svg")
    with client.get("/static/favicon.svg") as response:
        assert response.status_code == 200
    text = page(client, "/")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in text


# Sub-headings: the cleaners keep one as a paragraph of its own (a body's format is unchanged).
BODY = (
    "The council voted on Wednesday.\n\n"
    "Wetlands and embankments\n\n"
    "Engineers say restoring wetlands would lower floods.\n\n"
    "Shr 11 cts vs 10 cts\n\n"
    "V 4.65 --\n\n"
    "Terms were said to be fair."
)


def test_body_blocks_tell_sub_headings_from_paragraphs():
    assert body_blocks(BODY) == [
        ("paragraph", "The council voted on Wednesday."),
        ("heading", "Wetlands and embankments"),
        ("paragraph", "Engineers say restoring wetlands would lower floods."),
        ("paragraph", "Shr 11 cts vs 10 cts"),  # no prose before or after it
        ("paragraph", "V 4.65 --"),
        ("paragraph", "Terms were said to be fair."),
    ]
    # The first and last paragraphs, and a sentence that runs on, are never headings.
    assert body_blocks("Short opening\n\nA sentence follows here.")[0][0] == "paragraph"
    assert body_blocks("One. \n\nSo the council said\n\nIt is.")[1][0] == "paragraph"


def test_snippets_do_not_run_a_heading_into_the_next_sentence():
    marked = snippet(BODY, {"wetland"})
    assert "<mark>Wetlands</mark> and embankments · Engineers say restoring" in marked
    assert "Wednesday. <mark>Wetlands</mark>" in marked  # after a sentence, a space
    opening = snippet(BODY, set())  # no word of the query in the body: its opening
    assert opening.startswith("The council voted on Wednesday. Wetlands and embankments · Eng")


def test_plain_text_sub_headings_show_as_headings(client):
    found = client.get("/api/search?q=wetlands").get_json()["results"]
    levy = next(r for r in found if r["title"] == "Riverside Council Backs Flood Defence Levy")
    assert "<mark>Wetlands</mark> and embankments · Engineers" in levy["snippet"]
    text = page(client, f"/article/{levy['id']}")
    assert "<h2>Wetlands and embankments</h2>" in text
    assert "<p>Wetlands and embankments</p>" not in text


@pytest.fixture(scope="module")
def wire_client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wire")
    story = {
        "id": "wire-1",
        "title": "Grain exports rise",
        "body": "Grain exports rose in March, the ministry said.",
        "source": "reuters",
        "places": ["usa", "west-germany"],
        "dateline": "WASHINGTON, March 3",
    }
    odd = {"id": "wire-2", "title": "Grain odd", "body": "Grain.", "places": 7, "dateline": 5}
    ingest(folder / "index", write_jsonl(folder / "wire.jsonl", story, odd))
    return create_app({"TESTING": True, "INDEX_DIR": str(folder / "index")}).test_client()


def test_places_and_dateline_are_shown(wire_client):
    text = page(wire_client, "/article/wire-1")
    assert '<span class="dateline">WASHINGTON, March 3</span>' in text
    assert '<span class="places">Places: usa, west-germany</span>' in text
    results = page(wire_client, "/?q=grain+exports")
    assert '<span class="places">usa, west-germany</span>' in results
    # Extras are whatever a JSON Lines file gave: shown as text, never an error.
    odd = page(wire_client, "/article/wire-2")
    assert '<span class="dateline">5</span>' in odd and "Places: 7" in odd
