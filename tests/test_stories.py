"""Stories: near-identical articles share a story id (ingest, update, crawl, reindex) and
results show one hit per story, with the other versions one click away."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bench.crawl_site import Site, links_page
from search import stories
from search.article import Article
from search.engine.searcher import Searcher
from search.request import SearchRequest
from search.store import CorpusStore
from tests.conftest import ingest, run_cli, write_jsonl
from web import create_app

# A wire story of a dozen sentences, each with its own figures.
PORTS = ["Santos", "Paranagua", "Rio Grande", "Vitoria", "Itajai", "Recife"]
WIRE = [
    f"Coffee exporters at {port} shipped {40 + n} thousand bags in the week to March {n + 2}, "
    f"traders said, with {n + 3} vessels waiting and freight quoted at {12 + n} dlrs a tonne."
    for n, port in enumerate(PORTS)
] + [
    f"The Brazilian Coffee Institute said registrations for May stood at {900 + n} thousand "
    f"bags, against {700 + 3 * n} thousand a year ago, and prices held near {1.2 + n / 10:.2f} "
    f"dlrs a lb."
    for n in range(6)
]
WIRE_BODY = "\n\n".join(WIRE)
# The same story as a site republishes it: its own first paragraph and a footer.
SITE_BODY = "\n\n".join(
    ["SAO PAULO (Daily Harbour) - Brazil's coffee trade had a busy week, our correspondent says."]
    + WIRE[1:]
    + ["Copyright Daily Harbour. Sign up for our newsletter to get the markets every morning."]
)
# Another story on the same topic, in the same words but with other figures.
OTHER_BODY = "\n\n".join(
    s.replace("thousand", "hundred").replace("dlrs", "cents")
    .replace("vessels", "ships").replace("traders said", "shippers reported")
    for s in WIRE
)  # fmt: skip


def article(id_: str, title: str, body: str, **more) -> dict:
    return {"id": id_, "title": title, "body": body, "source": "wire",
            "published": "1987-03-02T10:00:00+00:00", **more}  # fmt: skip


def stories_of(data_dir) -> dict[str, int]:
    with CorpusStore(data_dir) as store:
        return {a.id: a.story for a in store.articles()}


@pytest.fixture
def corpus(tmp_path, data_dir):
    """The wire story, its copy on a site, another coffee story, two empty bodies and two
    short notices that differ only in their headlines."""
    notice = "Qtly div 10 cts vs 10 cts prior, pay April 1, record March 15."
    write_jsonl(
        tmp_path / "in.jsonl",
        article("wire", "Brazil coffee exports busy", WIRE_BODY),
        article("site", "Brazil coffee exports busy - Daily Harbour", SITE_BODY),
        article("other", "Brazil coffee registrations", OTHER_BODY),
        article("empty1", "ACME MERGER TALKS", ""),
        article("empty2", "ZENITH SHARES SUSPENDED", ""),
        article("div1", "ACME CORP SETS QUARTERLY", notice),
        article("div2", "ZENITH INC SETS QUARTERLY", notice),
    )
    ingest(data_dir, tmp_path / "in.jsonl")
    return data_dir


def test_near_copies_share_a_story_and_other_stories_do_not(corpus):
    found = stories_of(corpus)
    assert found["wire"] == found["site"]
    others = [found[i] for i in ("wire", "other", "empty1", "empty2", "div1", "div2")]
    assert len(set(others)) == len(others)  # empty or short bodies are each their own story


def test_a_changed_body_leaves_its_story_and_a_later_copy_joins_one(corpus, tmp_path):
    before = stories_of(corpus)
    write_jsonl(tmp_path / "update.jsonl", article("site", "Coffee", OTHER_BODY))
    ingest(corpus, tmp_path / "update.jsonl")
    after = stories_of(corpus)
    assert after["wire"] == before["wire"]  # the story keeps its id
    assert after["site"] == after["other"] != after["wire"]  # now a copy of the other one
    # A copy arriving later joins its story in the live index, without a reindex.
    write_jsonl(tmp_path / "late.jsonl", article("late", "Coffee week", WIRE_BODY + " Reuter"))
    ingest(corpus, tmp_path / "late.jsonl")
    with Searcher(corpus) as searcher:
        assert searcher.article("late").story == after["wire"]
        assert searcher.article("site").story == after["other"]
        response = searcher.search(SearchRequest(q="coffee exporters"))
        assert (response.total, response.stories) == (4, 2)


def test_reindex_keeps_the_stories(corpus):
    before = stories_of(corpus)
    assert run_cli("reindex", data_dir=corpus).exit_code == 0
    with Searcher(corpus) as searcher:
        assert {i: searcher.article(i).story for i in before} == before


def test_a_store_from_before_stories_is_clustered_by_reindex(corpus):
    with sqlite3.connect(corpus / "corpus.sqlite3") as db:
        db.execute("UPDATE articles SET story = NULL, clustered = 0")
        db.execute("DELETE FROM story_bands")
    assert run_cli("reindex", data_dir=corpus).exit_code == 0
    found = stories_of(corpus)
    assert None not in found.values() and found["wire"] == found["site"] != found["other"]


def test_an_ingest_into_a_store_from_before_stories_clusters_only_its_own_articles(
    corpus, tmp_path, caplog
):
    # (a store from before stories, as its first opening by this version leaves it)
    with sqlite3.connect(corpus / "corpus.sqlite3") as db:
        db.execute("UPDATE articles SET story = NULL, clustered = 0")
        db.execute("DELETE FROM story_bands")
    write_jsonl(tmp_path / "new.jsonl", article("new", "Coffee again", WIRE_BODY + " More."))
    result = ingest(corpus, tmp_path / "new.jsonl")
    # Only the new article is clustered and indexed: not the archive again.
    assert "added 1, updated 0, unchanged 0" in result.output
    with sqlite3.connect(corpus / "corpus.sqlite3") as db:
        rows = dict(db.execute("SELECT id, clustered + 2 * pending FROM articles"))
    assert rows.pop("new") == 1 and set(rows.values()) == {0}
    assert "7 stored articles are in no story yet" in caplog.text
    assert "`search reindex` groups them" in caplog.text
    assert run_cli("reindex", data_dir=corpus).exit_code == 0
    found = stories_of(corpus)
    assert None not in found.values() and found["wire"] == found["site"] == found["new"]
    with CorpusStore(corpus) as store:
        assert store.count_unclustered() == 0


# Collapse in results ---------------------------------------------------------------------


@pytest.fixture
def client(corpus):
    return create_app({"TESTING": True, "INDEX_DIR": str(corpus)}).test_client()


def test_api_shows_one_hit_per_story_and_counts_both(client, corpus):
    collapsed = client.get("/api/search?q=coffee+bags").get_json()
    every = client.get("/api/search?q=coffee+bags&collapse=false").get_json()
    assert (collapsed["total"], collapsed["stories"], collapsed["pages"]) == (3, 2, 1)
    assert (every["total"], every["stories"]) == (3, 2)
    ids = [hit["id"] for hit in collapsed["results"]]
    assert len(ids) == 2 and {"wire", "site"} & set(ids) and "other" in ids
    story = stories_of(corpus)["wire"]
    versions = {hit["id"]: (hit["story"], hit["versions"]) for hit in every["results"]}
    assert versions["wire"] == versions["site"] == (story, 1)
    assert versions["other"][1] == 0
    # Without collapsing, the ranking is the searcher's own, every article in it.
    with Searcher(corpus) as searcher:
        ranked = [i for i, _ in searcher.rank("coffee bags")]
    assert [hit["id"] for hit in every["results"]] == ranked
    # Collapsed: the best ranked member of each story, in the same order.
    best = [i for i in ranked if i in ids]
    assert ids == best and ranked.index(ids[0]) == 0


def test_paging_counts_stories(client):
    first = client.get("/api/search?q=coffee&per_page=1").get_json()
    second = client.get("/api/search?q=coffee&per_page=1&page=2").get_json()
    third = client.get("/api/search?q=coffee&per_page=1&page=3").get_json()
    assert (first["pages"], first["stories"], first["total"]) == (2, 2, 3)
    assert first["results"][0]["id"] != second["results"][0]["id"]
    assert {first["results"][0]["id"], second["results"][0]["id"]} & {"other"}
    assert third["results"] == []
    assert client.get("/api/search?q=coffee&per_page=1&collapse=0").get_json()["pages"] == 3


def test_facets_count_articles(client):
    facets = client.get("/api/search?q=coffee").get_json()["facets"]
    assert {"value": "wire", "count": 3} in facets["sources"]


def test_the_versions_link_and_the_story_filter(client, corpus):
    story = stories_of(corpus)["wire"]
    page = client.get("/?q=coffee+exporters").get_data(as_text=True)
    link = re.search(r'<a href="([^"]*story=\d+[^"]*)">1 more version</a>', page)
    assert link, page
    assert f"story={story}" in link.group(1) and "collapse=0" in link.group(1)
    listed = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Versions of one story" in listed and "2 articles" in listed
    api = client.get(f"/api/search?story={story}&collapse=0").get_json()
    assert sorted(hit["id"] for hit in api["results"]) == ["site", "wire"]


def test_article_page_and_api_list_the_other_versions(client):
    api = client.get("/api/article/wire").get_json()
    assert api["story"] and [v["id"] for v in api["versions"]] == ["site"]
    assert client.get("/api/article/other").get_json()["versions"] == []
    page = client.get("/article/site").get_data(as_text=True)
    assert "Other versions of this story" in page and "/article/wire" in page


@pytest.mark.parametrize("value", ["yes", "2", "-1", "truee", "0x1", "1.0", "\u0661"])
def test_hostile_collapse_values_are_a_400(client, value):
    for path in ("/api/search", "/"):
        response = client.get(path, query_string={"q": "coffee", "collapse": value})
        assert response.status_code == 400
    error = client.get("/api/search", query_string={"collapse": value}).get_json()["error"]
    assert error["param"] == "collapse" and "collapse must be 1 or 0" in error["message"]


@pytest.mark.parametrize("value", ["abc", "0", "-3", "1e3", "99999999999999999999999"])
def test_hostile_story_values_are_a_400(client, value):
    response = client.get("/api/search", query_string={"story": value})
    assert response.status_code == 400 and response.get_json()["error"]["param"] == "story"


def test_collapse_twice_is_a_400(client):
    response = client.get("/api/search?collapse=0&collapse=1")
    assert response.status_code == 400


# Crawl ------------------------------------------------------------------------------------


def _page(title: str, body: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{paragraphs}</article>"
        "</body></html>"
    )


def test_near_copies_found_while_crawling_share_a_story(data_dir):
    site = Site().start()
    site.page("/", links_page("Home", ["/wire", "/copy", "/other"]))
    site.page("/wire", _page("Brazil coffee exports busy", WIRE_BODY))
    site.page("/copy", _page("Brazil coffee exports busy", SITE_BODY))
    site.page("/other", _page("Brazil coffee registrations", OTHER_BODY))
    try:
        result = run_cli(
            "crawl", site.base + "/", "--allow-private", "--delay", "0", data_dir=data_dir
        )
    finally:
        site.stop()
    assert result.exit_code == 0, result.output
    with CorpusStore(data_dir) as store:
        by_url = {a.url.rsplit("/", 1)[1]: a.story for a in store.articles()}
    assert by_url["wire"] == by_url["copy"] != by_url["other"]
    with Searcher(data_dir) as searcher:
        response = searcher.search(SearchRequest(q="coffee"))
        assert (response.total, response.stories) == (3, 2)


# The page in a browser --------------------------------------------------------------------


@pytest.mark.browser
def test_collapse_on_the_page_in_a_browser(browser, corpus):
    from tests.browser import serving

    with serving(create_app({"INDEX_DIR": str(corpus)})) as url:
        page = browser.new_page()
        try:
            page.goto(url + "/?q=coffee+bags")
            assert page.locator(".hit").count() == 2
            assert "in 2 stories" in page.locator(".summary").inner_text()
            page.get_by_role("link", name="show every version").click()
            page.wait_for_load_state()
            assert "collapse=0" in page.url and page.locator(".hit").count() == 3
            page.go_back()
            page.get_by_role("link", name="1 more version").click()
            page.wait_for_load_state()
            assert "story=" in page.url
            assert page.locator(".chip.on", has_text="Versions of one story").count() == 1
            titles = page.locator(".hit h3").all_inner_texts()
            assert sorted(titles) == [
                "Brazil coffee exports busy",
                "Brazil coffee exports busy - Daily Harbour",
            ]
            page.locator(".hit h3 a").first.click()
            page.wait_for_load_state()
            assert page.locator("section.versions li").count() == 1
        finally:
            page.close()


def test_articles_published_too_far_apart_are_told_apart_before_their_bodies_are_read():
    day = datetime(2026, 3, 1, tzinfo=UTC)
    assert stories.apart(day, day + timedelta(days=stories.MAX_DAYS_APART))
    assert not stories.apart(day, day + timedelta(days=stories.MAX_DAYS_APART, seconds=-1))
    assert not stories.apart(day, None) and not stories.apart(None, day)
    # (what same_story says of any two bodies, however alike)
    body = " ".join(f"word{i}" for i in range(100))
    a = stories.fingerprint("T", body, day)
    b = stories.fingerprint("T", body, day + timedelta(days=stories.MAX_DAYS_APART))
    assert stories.same_story(a, b) == 0.0


def test_fingerprints_made_by_worker_processes_group_the_same_stories(tmp_path, monkeypatch):
    # Many copies of three stories, clustered in batches smaller than the store (the next
    # batch fingerprinted while one is clustered), by spawned workers and by this process.
    rows = []
    for n in range(60):
        body = (WIRE_BODY, SITE_BODY, OTHER_BODY)[n % 3] + f" Filed {n}."
        rows.append(Article.from_dict(article(f"a{n}", f"Coffee {n}", body)))
    grouped = []
    for parallel_from in (10**9, 0):
        monkeypatch.setattr(stories, "PARALLEL_FROM", parallel_from)
        with CorpusStore(tmp_path / str(parallel_from)) as store:
            store.upsert(rows)
            assert store.assign_stories(batch=7) == len(rows)
            found = {a.id: a.story for a in store.articles()}
        grouped.append({frozenset(i for i in found if found[i] == s) for s in found.values()})
    assert grouped[0] == grouped[1]
    assert len(grouped[0]) == 3  # (each text's copies: each joins its most similar)
