"""Alerts as feeds: every search has an Atom feed of its newest matches, which a feed reader
polls cheaply (304 when unchanged) and which shows new articles as they are ingested."""

from __future__ import annotations

import feedparser
import pytest

from tests.conftest import DEMO, ingest, write_jsonl
from web import create_app

NEW = {
    "id": "late-harbour-story",
    "title": "Energy regulator caps winter tariffs",
    "body": "Energy bills will be capped this winter, the regulator said on Friday. Suppliers "
    "must cut tariffs & refund <at once>.",
    "topics": ["Ports"],
    "published": "2030-01-02T08:00:00+00:00",
    "source": "Wire",
}


@pytest.fixture
def served(tmp_path):
    data_dir = tmp_path / "index"
    ingest(data_dir, DEMO / "text")
    return data_dir, create_app({"TESTING": True, "INDEX_DIR": str(data_dir)}).test_client()


def test_a_feed_lists_the_newest_matches_and_a_reader_sees_new_ones(served, tmp_path, monkeypatch):
    data_dir, client = served
    first = client.get("/feed?q=energy")
    assert first.status_code == 200 and first.mimetype == "application/atom+xml"
    parsed = feedparser.parse(first.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "News search: energy"
    assert parsed.entries
    dates = [entry.published_parsed for entry in parsed.entries if "published" in entry]
    assert dates == sorted(dates, reverse=True)  # the newest first
    for entry in parsed.entries:
        assert entry.link.startswith("http://localhost/article/") and entry.id == entry.link
        assert "energy" in (entry.title + entry.summary).lower()
    # Polling an unchanged feed costs a 304, by its ETag or by its date.
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feed?q=energy", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feed?q=energy", headers={"If-Modified-Since": modified}).status_code == 304
    # ... and no search: the tag names the search and the version of the index.
    monkeypatch.setattr(client.application.extensions["searcher"], "search", None)
    assert client.get("/feed?q=energy", headers={"If-None-Match": etag}).status_code == 304
    monkeypatch.undo()
    # A new article is ingested while the service runs: the next poll shows it first.
    ingest(data_dir, write_jsonl(tmp_path / "new.jsonl", NEW))
    second = client.get("/feed?q=energy", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    entry = feedparser.parse(second.data).entries[0]
    assert entry.title == NEW["title"]
    assert entry.link == "http://localhost/article/late-harbour-story"
    assert entry.published == NEW["published"]
    # The summary is the snippet as escaped HTML: <mark> around the words, the text escaped
    # (once as the snippet's HTML, once more as the feed's XML).
    raw = second.get_data(as_text=True)
    assert "&lt;mark&gt;Energy&lt;/mark&gt; bills will be capped" in raw
    assert "tariffs &amp;amp; refund &amp;lt;at" in raw and "<at" not in raw
    assert "Energy bills will be capped" in entry.summary


def test_a_feed_keeps_the_searchs_filters(served):
    _, client = served
    everything = feedparser.parse(client.get("/feed").data)
    assert everything.feed.title == "News search: newest articles"
    sources = {entry.link for entry in everything.entries}
    narrowed = feedparser.parse(client.get("/feed?source=wire-digest").data)
    assert narrowed.entries and {e.link for e in narrowed.entries} < sources
    page = client.get("/?q=energy&source=wire-digest").get_data(as_text=True)
    link = 'href="/feed?q=energy&amp;source=wire-digest"'
    title = 'title="New matches for this search"'
    assert f'<link rel="alternate" type="application/atom+xml" {title} {link}>' in page
    assert f'<p class="feed"><a {link}' in page


@pytest.mark.parametrize(
    "query",
    [
        "page=2",
        "sort=relevance",
        "per_page=5",
        "q=a&q=b",
        "from=yesterday",
        "q=%FF%FE",
        "topic=%00x",
    ],
)
def test_bad_feed_parameters_are_a_400(served, query):
    _, client = served
    response = client.get(f"/feed?{query}")
    assert response.status_code == 400, query
