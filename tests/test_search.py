"""Searching through the JSON API and the page: ranking, snippets, filters, facets, errors."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import SEED, ingest, need_shared, write_jsonl
from web import create_app

SEED_QUERIES = [
    "Wang Yi",
    '"security partnership"',
    'topics:"Wang Yi"',
    'topic:"Wang Yi"',
    'people:"Han Zheng"',
    'person:"Han Zheng"',
]


def search(client, **params):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("q", SEED_QUERIES)
def test_seed_is_found_with_marked_snippet(client, q):
    need_shared(SEED)
    body = search(client, q=q)
    top = body["results"][0]
    assert top["title"].startswith("China moved to solidify")
    # (The source lists two of the people among the topics too: shown once, as people.)
    assert top["topics"] == ["Organisation of Islamic Cooperation"]
    assert top["people"] == ["Wang Yi", "Hissein Brahim Taha", "Han Zheng"]
    if not q.startswith(("topic", "people", "person")):
        assert "<mark>" in top["snippet"]


def test_response_shape_follows_the_contract(client):
    body = search(client, q="energy", per_page=3)
    assert set(body) >= {"request", "total", "took_ms", "results", "facets", "suggestion"}
    assert body["request"]["q"] == "energy" and body["request"]["per_page"] == 3
    assert len(body["results"]) == 3 and body["total"] > 3
    hit = body["results"][0]
    assert set(hit) >= {
        "id",
        "url",
        "title",
        "published",
        "source",
        "topics",
        "people",
        "score",
        "snippet",
    }
    assert set(body["facets"]) == {"topics", "people", "sources", "months", "timeline"}
    # Facets count all matches, not just the page.
    assert sum(f["count"] for f in body["facets"]["sources"]) == body["total"]


def test_phrase_and_title_match_rank_first(client):
    body = search(client, q='"energy prices"')
    assert body["results"], body
    assert all("energy" in r["snippet"].lower() for r in body["results"])
    top = search(client, q="title:halvorsen")["results"][0]
    assert top["title"] == "Halvorsen Logistics Shares Jump After U.S. Rail Contract"


def test_us_and_acronym_queries(client):
    for q in ("US rail", "U.S. rail"):
        top = search(client, q=q)["results"][0]
        assert "U.S. Rail" in top["title"]


def test_repeated_words_count(client):
    once = {r["id"]: r["score"] for r in search(client, q="wind budget", per_page=50)["results"]}
    twice = {
        r["id"]: r["score"] for r in search(client, q="wind wind budget", per_page=50)["results"]
    }
    assert once.keys() == twice.keys()
    assert any(twice[i] > once[i] * 1.01 for i in once)


@pytest.mark.parametrize("q", ["what about", "The", '"which of these"', "title:which"])
def test_a_query_of_only_common_words_says_so(client, q):
    body = search(client, q=q)
    assert body["total"] == 0 and any("too common" in n for n in body["notices"]), body
    for other in (q + " harbour", "AND", "the -harbour"):
        assert not any("too common" in n for n in search(client, q=other)["notices"]), other


def test_filters_narrow_and_combine(client):
    everything = search(client, q="energy")
    topic = everything["facets"]["topics"][0]["value"]
    narrowed = search(client, q="energy", topic=topic)
    assert 0 < narrowed["total"] < everything["total"]
    assert all(topic in r["topics"] for r in narrowed["results"])
    prefixed = search(client, q="energ*", topic=topic, per_page=50)  # ranked by Whoosh
    assert prefixed["results"] and all(topic in r["topics"] for r in prefixed["results"])
    source = search(client, q="energy", source="Northgate Times")
    assert source["total"] and all(r["source"] == "Northgate Times" for r in source["results"])
    dated = search(client, q="energy", **{"from": "2026-01-01", "to": "2026-06-30"})
    assert dated["total"] and all(
        "2026-01" <= r["published"][:7] <= "2026-06" for r in dated["results"]
    )


@pytest.mark.parametrize("q", ["energy", '"offshore wind"', "energy wind grid power price"])
@pytest.mark.parametrize("order", [{"sort": "relevance"}, {"sort": "newest"}, {"recency": "0.8"}])
def test_a_filter_that_matches_nothing_shows_nothing(client, q, order):
    # Whoosh reads an empty filter as no filter: this page used to list unfiltered results
    # under a total of 0.
    body = search(client, q=q, topic="no such topic", **order)
    assert body["total"] == 0 and body["results"] == []


def test_person_filter_uses_the_exact_name(client):
    body = search(client, person="Ana Lopes")
    assert body["total"] >= 2 and all("Ana Lopes" in r["people"] for r in body["results"])


def test_sort_newest_and_pagination(client):
    body = search(client, q="the", sort="newest", per_page=5)
    dates = [r["published"] for r in body["results"] if r["published"]]
    assert dates == sorted(dates, reverse=True)
    page1 = search(client, q="energy", per_page=2, page=1)["results"]
    page2 = search(client, q="energy", per_page=2, page=2)["results"]
    assert page1 and page2 and not {r["id"] for r in page1} & {r["id"] for r in page2}


@pytest.mark.parametrize("q", ["", "energy", "the"])
def test_newest_first_pages_through_every_match_in_date_order(client, q):
    def pages(**params):
        found, page = [], 1
        while hits := search(client, q=q, per_page=7, page=page, **params)["results"]:
            found, page = found + hits, page + 1
        return found

    newest = pages(sort="newest")
    dates = [hit["published"] or "" for hit in newest]  # undated ones last
    assert dates == sorted(dates, reverse=True)
    assert sorted(hit["id"] for hit in newest) == sorted(hit["id"] for hit in pages())


def test_empty_query_lists_newest_articles(client):
    body = search(client)
    dates = [r["published"] for r in body["results"] if r["published"]]
    assert body["total"] >= 36 and dates == sorted(dates, reverse=True)


def test_did_you_mean(client):
    body = search(client, q="elecion")
    assert body["suggestion"] == "election"
    assert search(client, q="election")["suggestion"] is None
    page = client.get("/?q=elecion").get_data(as_text=True)
    assert 'Did you mean <a href="/?q=election">election</a>' in page


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x", "bogus": "1"}, "unknown parameter 'bogus'"),
        ({"page": "0"}, "page must be from 1"),
        ({"page": "abc"}, "page must be a whole number"),
        ({"per_page": "1000"}, "per_page must be from 1 to 100"),
        ({"page": "100000"}, "page must be from 1"),
        ({"sort": "oldest"}, "sort must be one of relevance, newest"),
        ({"from": "yesterday"}, "'from' must be a date written YYYY-MM-DD"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "is after 'to'"),
        ({"q": "x" * 1001}, "the limit is 1000"),
        ({"q": "a\x00b"}, "NUL"),
    ],
)
def test_bad_requests_are_400_with_a_message(client, params, message):
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400 and message in error["message"]
    page = client.get("/", query_string=params)
    assert page.status_code == 400
    assert message in html.unescape(page.get_data(as_text=True))


def test_repeated_single_parameter_is_400(client):
    response = client.get("/api/search?q=a&q=b")
    assert response.status_code == 400 and "only once" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    "q",
    [
        '"unbalanced',
        "(open",
        "close)",
        "AND",
        "OR OR",
        "NOT",
        "title:",
        ":",
        "foo:bar",
        "*",
        "a*",
        "?",
        "wind~",
        "wind~9",
        '"a b"~99',
        "date:[2026 to",
        "date:notadate",
        "+",
        "-",
        "((((",
        "🙂 energy",
        "טקסט",
        "\\",
        "^2",
        "wind^x",
    ],
)
def test_odd_queries_answer_200_or_400_never_500(client, q):
    response = client.get("/api/search", query_string={"q": q})
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    assert client.get("/", query_string={"q": q}).status_code in (200, 400)


def test_malformed_query_still_finds_its_words_with_a_notice(client):
    body = search(client, q='"offshore wind')
    assert body["total"] > 0
    assert any("quote" in n for n in body["notices"])
    body = search(client, q="nosuchfield:energy")
    assert body["total"] > 0 and any("nosuchfield" in n for n in body["notices"])


def test_article_page_and_api(client):
    hit = search(client, q="halvorsen")["results"][0]
    page = client.get(f"/article/{hit['id']}").get_data(as_text=True)
    assert "Halvorsen Logistics Shares Jump" in page and hit["url"] in page
    assert client.get(f"/api/article/{hit['id']}").get_json()["title"] == hit["title"]
    assert client.get("/article/nope").status_code == 404
    missing = client.get("/api/article/nope")
    assert missing.status_code == 404 and "nope" in missing.get_json()["error"]["message"]


def test_health(client):
    body = client.get("/api/health").get_json()
    assert body["status"] == "ok" and body["documents"] >= 36
    assert body["generation"].startswith("gen-")


def test_service_without_an_index_says_so(tmp_path):
    client = create_app({"INDEX_DIR": str(tmp_path / "none")}).test_client()
    response = client.get("/api/search?q=x")
    assert (
        response.status_code == 503 and "search ingest" in response.get_json()["error"]["message"]
    )


def test_page_renders_results_facets_and_chips(client):
    page = client.get("/?q=energy").get_data(as_text=True)
    assert "<mark>" in page
    assert 'class="facets"' in page and "Topics" in page and "People" in page
    assert re.search(r'href="/\?q=energy&amp;topic=[^"]+"', page)  # a chip adds a filter
    assert 'href="/help"' in page


HOSTILE = '<script>alert("x")</script> "onerror=alert(1) </mark>'


def test_markup_in_articles_is_escaped_in_page_and_json(tmp_path):
    data_dir = tmp_path / "index"
    feed = write_jsonl(
        tmp_path / "hostile.jsonl",
        {
            "id": "hostile-1",
            "url": "javascript:alert(1)",
            "title": f"Hostile {HOSTILE} headline",
            "body": f"The body says hostile things {HOSTILE} and more hostile words.",
            "topics": [f"topic {HOSTILE}"],
            "people": [f"Person {HOSTILE}"],
            "source": f"source {HOSTILE}",
        },
    )
    page_file = tmp_path / "hostile.html"
    page_file.write_text(
        f"<html><head><title>Hostile &lt;script&gt;alert(2)&lt;/script&gt; page</title></head>"
        f"<body><article><h1>Hostile &lt;script&gt;alert(2)&lt;/script&gt; page</h1>"
        f"<p>{'Hostile text with &lt;script&gt;alert(3)&lt;/script&gt; inside. ' * 5}</p>"
        f"</article></body></html>"
    )
    ingest(data_dir, feed, page_file)
    client = create_app({"INDEX_DIR": str(data_dir)}).test_client()
    body = client.get("/api/search?q=hostile").get_json()
    assert body["total"] == 2
    for hit in body["results"]:
        # Only <mark> is markup in a snippet; everything else is escaped text.
        assert not re.search(r"<(?!/?mark>)", hit["snippet"]), hit["snippet"]
        assert "<mark>hostile</mark>" in hit["snippet"].lower()
        # The title too, as the page shows it.
        assert not re.search(r"<(?!/?mark>)", hit["title_html"]), hit["title_html"]
        assert "<mark>hostile</mark>" in hit["title_html"].lower()
    assert any("&lt;script&gt;" in hit["title_html"] for hit in body["results"])
    for url in ("/?q=hostile", "/article/hostile-1"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>" not in page and "&lt;script&gt;" in page
        # The document's own </mark> is text, so the page's marks stay balanced.
        assert page.count("<mark>") == page.count("</mark>")
        assert 'href="javascript:' not in page
