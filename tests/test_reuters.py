"""All of Reuters-21578 through ingest: counts, odd bytes, briefs, and a few known stories."""

from __future__ import annotations

import csv

import pytest

from search.engine.searcher import Searcher
from search.request import Limits, SearchRequest
from search.store import CorpusStore
from tests.conftest import REUTERS, need_shared, run_cli
from web import create_app

pytestmark = pytest.mark.slow

STORIES = 21578
EMPTY_STORIES = 1  # NEWID 12793 (reut2-012.sgm) is an UNPROC story with no text at all


@pytest.fixture(scope="module")
def reuters_dir(tmp_path_factory):
    need_shared(REUTERS)
    data_dir = tmp_path_factory.mktemp("reuters") / "index"
    result = run_cli("ingest", str(REUTERS), data_dir=data_dir)
    assert result.exit_code == 0, result.output[-2000:]
    assert f"added {STORIES - EMPTY_STORIES}," in result.output
    assert "skipped 1 without text, failed 0" in result.output
    assert "reut2-012.sgm#story793: story has no text" in result.output
    return data_dir


def test_every_story_with_text_is_stored_and_indexed(reuters_dir):
    with CorpusStore(reuters_dir) as store:
        assert store.count() == STORIES - EMPTY_STORIES
        assert store.count_by_source() == {"reuters": STORIES - EMPTY_STORIES}
        first = store.get("reuters-1")
    assert first.title == "BAHIA COCOA REVIEW"
    assert first.topics == ["cocoa"]
    assert first.extra["places"] == ["el-salvador", "usa", "uruguay"]
    assert first.published.isoformat() == "1987-02-26T15:01:01+00:00"
    assert first.body.startswith("Showers continued throughout the week in the Bahia cocoa zone")
    assert not first.body.endswith("Reuter")
    assert Searcher(reuters_dir).health()["documents"] == STORIES - EMPTY_STORIES


def search(data_dir, **params):
    request = SearchRequest.from_params({k: [v] for k, v in params.items()}, Limits())
    return Searcher(data_dir).search(request).to_dict()


def test_known_stories_are_found(reuters_dir):
    # The review (reuters-1) and a short price table headed "Bahia cocoa futures" (reuters-14651)
    # score within 3% of each other; BM25's length normalisation may put either first.
    top = search(reuters_dir, q='"Bahia cocoa"')["results"][:2]
    assert "reuters-1" in [hit["id"] for hit in top]
    baker = search(reuters_dir, person="James Baker")
    assert baker["total"] > 50
    assert all("James Baker" in r["people"] for r in baker["results"])
    facets = search(reuters_dir, q="")["facets"]
    assert facets["topics"][0] == {"value": "earn", "count": pytest.approx(3987, abs=50)}


def test_latin1_story_reads(reuters_dir):
    # reut2-017.sgm holds bytes that are not UTF-8; its stories are still all there.
    with CorpusStore(reuters_dir) as store:
        ids = {int(a.id.split("-")[1]) for a in store.articles()}
    assert set(range(17001, 18001)) <= ids


def test_reingest_changes_nothing(reuters_dir):
    result = run_cli("ingest", str(REUTERS / "reut2-021.sgm"), data_dir=reuters_dir)
    assert "added 0, updated 0, unchanged 578" in result.output


@pytest.mark.parametrize(
    "typed, meant",
    [
        # An unknown word beside a common one: respelt, though "yen" alone finds most of what
        # the respelt query finds.
        ("yen intervntion", "yen intervention"),
        # A typo that 9 articles hold, 250 times rarer than the word meant.
        ("goverment debt", "government debt"),
        ("bankrupcy", "bankruptcy"),
    ],
)
def test_did_you_mean_respells_each_misspelt_word(reuters_dir, typed, meant):
    assert search(reuters_dir, q=typed)["suggestion"] == meant


@pytest.mark.parametrize(
    "q",
    [
        "oil prices",
        "grain exports",
        "yen",
        "interest rates",
        "volcker",
        "james baker",
        "poehl",
        "bundesbank",
        "trade deficit",
        "crude oil",
        # Rare words one edit from common ones: "soil" (oil), "aid" (said), "experts"
        # (exports), "sad" (said).
        "soil erosion",
        "food aid",
        "experts",
        "sad",
    ],
)
def test_correct_queries_get_no_suggestion(reuters_dir, q):
    assert search(reuters_dir, q=q)["suggestion"] is None


def test_a_wrapped_headline_keeps_its_second_line(reuters_dir):
    # An UNPROC story whose headline the wire broke at a hyphen over two lines (reut2-010.sgm).
    with CorpusStore(reuters_dir) as store:
        story = store.get("reuters-10136")
    assert story.title == "VOLCKER REAFFIRMS G-6 NEGOTIATING PROCESS"
    assert story.body.startswith("WASHINGTON, March 26 - Federal Reserve Board Chairman")


def test_no_body_or_snippet_ends_in_the_wire_sign_off(reuters_dir):
    # The sign-off comes as "Reuter", "REUTER" or "reuter", sometimes twice or with "...^M".
    with CorpusStore(reuters_dir) as store:
        endings = [a.body.split()[-1] for a in store.articles() if a.body]
    signed = [word for word in endings if word.lower().rstrip(".^M").startswith("reuter")]
    # What is left is a last sentence that ends "... told Reuters."
    assert set(signed) <= {"Reuters."}, sorted(set(signed))
    results = search(reuters_dir, q="sugar", per_page="50")["results"]
    assert not any(hit["snippet"].rstrip(". ").lower().endswith("reuter") for hit in results)


def test_a_treasury_query_shows_each_person_once(reuters_dir):
    """Reuters codes most people by surname ("volcker"): each becomes the one full name the
    stories give it, and a surname two people share in the text ("reagan": Ronald, Nancy)
    stays as it is. The facet then holds each person once."""
    from search.names import name_key

    body = search(reuters_dir, q="treasury")
    people = [facet["value"] for facet in body["facets"]["people"]]
    assert people[:4] == ["James Baker", "Gerhard Stoltenberg", "Paul Volcker", "Nigel Lawson"]
    assert "Reagan" in people
    keys = [name_key(p) for p in people]
    surnames = [k.split()[-1] for k in keys]
    assert len(set(keys)) == len(keys)
    # No value is another's surname alone ("Volcker" beside "Paul Volcker").
    assert not [k for k in keys if " " not in k and surnames.count(k) > 1]
    assert search(reuters_dir, q="treasury", person="volcker")["total"] == 18
    assert search(reuters_dir, q="treasury", person="Paul Volcker")["total"] == 18
    stats = run_cli("stats", data_dir=reuters_dir).output
    assert "'Volcker' (79) -> 'Paul Volcker'" in stats
    assert (
        "'Wilson' (16) -> 'Michael Wilson'"
        in run_cli("stats", "--merges", data_dir=reuters_dir).output
    )


def test_a_20000_match_export_streams_every_row_once_and_opens_with_the_csv_module(reuters_dir):
    client = create_app({"INDEX_DIR": str(reuters_dir)}).test_client()
    words = (
        "said year mln pct dlrs shr cts net vs company market trade price bank share rate oil new"
    )
    query = {"q": " OR ".join(words.split()), "collapse": "0"}
    first = client.get("/api/search", query_string=query | {"per_page": "100"}).get_json()
    assert first["total"] >= 20_000
    response = client.get("/api/export", query_string=query, buffered=False)
    lines = (line for part in response.response for line in part.decode().splitlines(True))
    rows = list(csv.DictReader(lines))
    response.close()
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)) == first["total"]
    assert ids[:100] == [hit["id"] for hit in first["results"]]
    # Every row reads back as the article's own fields, quotes and all.
    quoted = next(row for row in rows if '"' in row["title"])
    article = client.get(f"/api/article/{quoted['id']}").get_json()
    assert quoted["title"] == article["title"]
    assert quoted["topics"] == " | ".join(article["topics"])
