"""Reader features: autocomplete, similar articles, prefer recent, why it ranked, plain queries."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from whoosh import query

from search.engine import docsets, scoring, topk
from search.engine import query as query_language
from search.engine import view as view_module
from search.engine.searcher import Searcher
from search.request import SearchRequest
from tests.conftest import ingest, write_jsonl
from web import create_app


def get(client, url, **params):
    response = client.get(url, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_suggest_offers_people_topics_and_title_words(client):
    body = get(client, "/api/suggest", q="ana")
    assert {"value": "Ana Lopes", "count": 3} in body["people"]
    topics = [t["value"] for t in get(client, "/api/suggest", q="ENER")["topics"]]
    assert topics[0] == "Energy" and all("energy" in t.lower() for t in topics)
    # A word inside a name is a way in; the last word of the text completes title words.
    assert "Ana Lopes" in [p["value"] for p in get(client, "/api/suggest", q="lop")["people"]]
    words = [w["value"] for w in get(client, "/api/suggest", q="offshore wi")["words"]]
    assert "wind" in words and all(w.startswith("wi") for w in words)
    assert get(client, "/api/suggest", q="zzqx") == {
        "q": "zzqx",
        "people": [],
        "topics": [],
        "words": [],
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "q must be 1 to 100 characters"),
        ({"q": "x" * 101}, "q must be 1 to 100 characters"),
        ({"q": "en", "limit": "0"}, "limit must be a whole number from 1 to 20"),
        ({"q": "en", "size": "3"}, "unknown parameter 'size'"),
    ],
)
def test_suggest_rejects_bad_input_with_400(client, params, message):
    response = client.get("/api/suggest", query_string=params)
    assert response.status_code == 400 and message in response.get_json()["error"]["message"]


def test_page_wires_autocomplete_without_inline_script(client):
    page = client.get("/?q=energy").get_data(as_text=True)
    assert 'list="suggestions"' in page and 'data-suggest="/api/suggest"' in page
    assert '<script src="/static/suggest.js" defer></script>' in page
    assert "<script>" not in page and " on" + "input=" not in page
    with client.get("/static/suggest.js") as script:
        assert script.status_code == 200


def test_similar_articles_api_and_article_page(client):
    hit = get(client, "/api/search", q="offshore wind link")["results"][0]
    similar = get(client, f"/api/similar/{hit['id']}")["results"]
    assert similar and hit["id"] not in [s["id"] for s in similar]
    assert any("wind" in (s["title"] + " ".join(s["topics"])).lower() for s in similar[:3])
    page = client.get(f"/article/{hit['id']}").get_data(as_text=True)
    assert "Similar articles" in page and similar[0]["title"].split()[0] in page
    assert client.get("/api/similar/nope").status_code == 404


DATED = [
    # The oldest says "harbour crane" most; the newest least; one recent article never matches.
    ("old", "2020-03-01", "Harbour crane collapse", "The harbour crane fell. " * 6),
    ("mid", "2025-06-01", "Port upgrade", "A new harbour crane was ordered for the port."),
    ("new", "2026-05-01", "Dock news", "Workers at the harbour watched a crane and a ship."),
    ("other", "2026-05-20", "Bakery opens", "A new bakery opened on the high street."),
]


@pytest.fixture(scope="module")
def dated_client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dated")
    feed = write_jsonl(
        folder / "dated.jsonl",
        *(
            {"id": i, "title": t, "body": b, "published": d + "T12:00:00Z", "source": "Test"}
            for i, d, t, b in DATED
        ),
    )
    ingest(folder / "index", feed)
    return create_app({"INDEX_DIR": str(folder / "index")}).test_client()


def test_prefer_recent_blends_the_date_into_relevance(dated_client):
    def ids(**params):
        body = get(dated_client, "/api/search", q="harbour crane", **params)
        return [r["id"] for r in body["results"]], body["total"]

    plain, total = ids()
    assert plain == ["old", "mid", "new"]
    assert ids(recency="0") == (plain, total)
    recent, recent_total = ids(recency="1")
    assert recent[0] == "new" and recent.index("mid") < recent.index("old")
    # Still a relevance ranking: what does not match stays out, the total is unchanged.
    assert "other" not in recent and recent_total == total
    scores = [
        r["score"]
        for r in get(dated_client, "/api/search", q="harbour crane", recency="0.5")["results"]
    ]
    assert scores == sorted(scores, reverse=True)


def test_explain_gives_each_hits_recency_factor(dated_client):
    """The factor explained is the one of the hit's own date: a half-life of 30 days, from
    the newest article (the factor once read Whoosh's microseconds as 100-nanosecond ticks:
    a half-life of 300 days)."""
    body = get(dated_client, "/api/search", q="harbour crane", recency="0.5", explain="1")
    dates = {r["id"]: datetime.fromisoformat(r["published"]) for r in body["results"]}
    newest = datetime.fromisoformat(max(d for _, d, _, _ in DATED) + "T12:00:00+00:00")
    for result in body["results"]:
        age = (newest - dates[result["id"]]).total_seconds() / 86400
        assert result["explain"]["recency_factor"] == round(0.5 + 0.5 * 0.5 ** (age / 30), 4)


@pytest.mark.parametrize("value", ["2", "-0.1", "abc", "nan", "inf"])
def test_bad_recency_is_400(client, value):
    response = client.get("/api/search", query_string={"q": "energy", "recency": value})
    assert response.status_code == 400
    assert "recency must be a number from 0 to 1" in response.get_json()["error"]["message"]


def test_page_has_a_prefer_recent_toggle(dated_client):
    page = dated_client.get("/?q=harbour+crane&recency=0.8").get_data(as_text=True)
    assert 'name="recency" value="0.8"' in page and "checked" in page
    assert page.index('href="/article/new?') < page.index('href="/article/old?')
    # Links keep the choice (sorting, filters); a plain search page does not add it.
    assert "recency=0.8" in page
    assert (
        "recency=" not in dated_client.get("/?q=harbour").get_data(as_text=True).split("<main>")[1]
    )


def test_explain_breaks_the_score_down_by_field_and_word(client):
    body = get(client, "/api/search", q="offshore wind", explain="1")
    for hit in body["results"]:
        why = hit["explain"]
        assert sum(why["fields"].values()) + why["other"] == pytest.approx(hit["score"], rel=1e-3)
        assert {t["field"] for t in why["terms"]} == set(why["fields"])
        assert {t["term"] for t in why["terms"] if not t["feedback"]} <= {"offshor", "wind"}
    top = body["results"][0]["explain"]
    assert top["terms"][0]["score"] >= top["terms"][-1]["score"]
    assert "explain" not in get(client, "/api/search", q="offshore wind")["results"][0]
    page = client.get("/?q=offshore+wind&explain=1").get_data(as_text=True)
    assert "Why this ranked" in page and "<details" in page
    assert "why these ranked" in client.get("/?q=offshore+wind").get_data(as_text=True)


def test_explain_names_the_words_feedback_added(client):
    body = get(client, "/api/search", q="offshore wind link grid authority cable", explain="1")
    terms = body["results"][0]["explain"]["terms"]
    assert any(t["feedback"] for t in terms) and any(not t["feedback"] for t in terms)


@pytest.mark.parametrize(
    ("q", "expected_in_top"),
    [
        # A hyphen inside a word joins it; it does not exclude what follows.
        ("offshore-wind", "Offshore Wind"),
        # A question mark ends a question; it is not a one-letter wildcard.
        ("which offshore wind link was approved?", "Offshore Wind"),
        # A dash standing alone is punctuation.
        ("offshore wind - link", "Offshore Wind"),
    ],
)
def test_natural_queries_read_as_a_reader_means_them(client, q, expected_in_top):
    body = get(client, "/api/search", q=q)
    assert expected_in_top in body["results"][0]["title"], body["results"][0]["title"]


def test_a_stray_dash_is_punctuation(client):
    plain = get(client, "/api/search", q="wind link")
    dashed = get(client, "/api/search", q="wind - link")
    assert dashed["total"] == plain["total"] and not dashed["notices"]


def test_minus_at_a_word_start_still_excludes(client):
    everything = get(client, "/api/search", q="energy", per_page=50)
    without = get(client, "/api/search", q="energy -wind", per_page=50)
    assert 0 < without["total"] < everything["total"]


def test_help_page_documents_the_features(client):
    page = client.get("/help").get_data(as_text=True)
    for phrase in ("Prefer recent", "Why this ranked", "suggest", "Similar articles", "recency"):
        assert phrase in page, phrase


def test_a_repeated_word_counts_as_many_times(client):
    searcher = client.application.extensions["searcher"]

    def boost(times: int) -> float:
        parsed, _ = searcher.parse(" ".join(["wind"] * times + ["budget"]))
        found = scoring.weighted_terms(parsed)
        return next(b for field, word, b in found if (field, word) == ("body", "wind"))

    # BM25 weighs a word by its count in the query (Whoosh's parser would keep one).
    assert [boost(times) for times in (1, 2, 3, 6)] == pytest.approx([1, 2, 3, 6])
    # Typed boosts add up, inside brackets too.
    searched = {q: searcher.parse(q)[0] for q in ("wind^2 wind budget", "(wind wind) budget")}
    weights = {
        q: dict(((f, w), b) for f, w, b in scoring.weighted_terms(p)) for q, p in searched.items()
    }
    assert weights["wind^2 wind budget"][("body", "wind")] == pytest.approx(3)
    assert weights["(wind wind) budget"][("body", "wind")] == pytest.approx(2)


def test_feedback_learns_from_matches_by_score_and_from_words_two_of_them_hold(tmp_path):
    # "shared12" is in matches 1 and 2, "shared23" in 2 and 3, "solo" in match 1 only: a word
    # only one match holds is not added, and a better match's words weigh more.
    # Match 4 is a copy of match 1 (another wire's), match 5 a copy with a word changed (8 of
    # their 10 words shared): neither is a second opinion on "solo".
    words = "alpha beta gamma delta epsilon zeta"
    bodies = [f"{words} shared12 solo", f"{words} shared12 shared23", f"{words} shared23"]
    bodies += ["unrelated filler text"] * 2 + ["filler shared23"] + bodies[:1]  # both in 3
    bodies.append(f"{words} solo wirex")
    articles = [
        {
            "id": f"f{n}",
            "url": f"https://example.org/f{n}",
            "title": f"t{n % 6 if n < 7 else 0}",
            "body": body,
        }
        for n, body in enumerate(bodies)
    ]
    ingest(tmp_path / "index", write_jsonl(tmp_path / "fb.jsonl", *articles))
    with Searcher(tmp_path / "index") as searcher:
        view = searcher.view()
        parsed, _ = searcher.parse(words, view)
        ids = {view.searcher.stored_fields(d)["id"]: d for d in range(8)}

        def expanded(scores: dict[int, float]) -> query.Query:
            top = [(ids[f"f{n}"], score) for n, score in scores.items()]
            return scoring.with_feedback(view.searcher, parsed, lambda q, n: top, 0.5)

        def expansion(scores: dict[int, float]) -> dict[str, float]:
            terms = expanded(scores).b.subqueries
            return {t.text: t.boost for t in terms if t.fieldname == "body"}

        even = expansion({0: 1.0, 6: 1.0, 7: 1.0, 1: 1.0, 2: 1.0})
        assert "solo" not in even and even["shared12"] == pytest.approx(even["shared23"])
        first = expansion({0: 3.0, 1: 1.0, 2: 1.0})
        assert "solo" not in first and first["shared12"] > first["shared23"]
        # Matches that score nothing teach nothing.
        assert expanded({0: 0.0, 1: 0.0, 2: 0.0}) is parsed


@pytest.fixture(scope="module")
def random_dir(tmp_path_factory):
    """300 articles of random words from a 60-word vocabulary (seeded): long queries match most."""
    import random

    rng = random.Random(7)
    vocabulary = [f"w{n}x" for n in range(60)]
    folder = tmp_path_factory.mktemp("random") / "index"
    articles = [
        {
            "id": f"r{n}",
            "url": f"https://example.org/r{n}",
            "title": " ".join(rng.choices(vocabulary, k=rng.randint(2, 6))),
            "body": " ".join(rng.choices(vocabulary, k=rng.randint(10, 120))),
            "published": "1987-03-01T00:00:00Z",
            "source": "example",
        }
        for n in range(300)
    ]
    ingest(folder, write_jsonl(folder.parent / "random.jsonl", *articles))
    queries = [" ".join(rng.sample(vocabulary, k)) for k in (4, 6, 12, 30) for _ in range(3)]
    # A prefix leaves the ranking to Whoosh (the rest is scored from cached word scores).
    return folder, queries + [q + " w1*" for q in queries]


def test_a_short_ranking_is_the_head_of_a_long_one(random_dir):
    # Whoosh's array union under-reports its best score, and its top-N collector, pruning by
    # that bound, used to drop documents from short result lists of long queries.
    folder, queries = random_dir
    with Searcher(folder) as searcher:
        for q in queries:
            full = [doc for doc, _ in searcher.rank(q, 1000)]
            for limit in (1, 3, 10):
                assert [doc for doc, _ in searcher.rank(q, limit)] == full[:limit], (q, limit)
            page = searcher.search(SearchRequest(q=q, per_page=10)).results
            assert [hit.id for hit in page] == full[:10], q


# Shapes whose words' scores are added up (some only where a part matches as a whole).
SUMMED = [
    "w1x",
    "w1x w2x",
    "w3x^2 w4x (w5x)^3",
    "w1x AND w2x",
    "w1x w2x -w3x",
    "(w1x OR w2x) AND w9x",
    "title:w4x w7x",
    'body:"w1x w2x"~4^2 AND w3x',
    "w1x w2x w3x w4x w5x w6x",  # long enough for feedback
    " ".join(f"w{n}x" for n in range(0, 60, 3)),
    # Built by hand: Whoosh applies a group's boost only when it has more than one part.
    query.Or([query.Term("body", "w5x")], boost=3.0),
    query.And([query.Term("body", "w5x"), query.Term("title", "w6x")], boost=2.0),
    query.AndMaybe(query.Term("body", "w5x"), query.Term("body", "w6x", boost=0.5)),
    # Parts that add their words only where they match as a whole.
    '"w1x w2x" w3x',
    '"w1x w2x"~4^2 AND w3x',  # a phrase searches every field: an OR of phrases
    "(w1x AND w2x) OR w3x",
    "((w1x AND w2x) OR w4x) AND w3x",
    "w1x REQUIRE w2x",
    query.Or(
        [
            query.AndMaybe(query.Term("body", "w1x"), query.Term("body", "w2x")),
            query.Term("body", "w3x"),
        ]
    ),
]
# Left to Whoosh.
WHOOSH = ["w1x*", "w1x~", "w1x OR date:[1987 to 1988]", "w1x w2x w3x w4x w5*"]


@pytest.mark.parametrize("q", SUMMED + WHOOSH)
def test_word_queries_rank_as_whoosh_ranks_them(random_dir, q):
    # Queries that add up word scores are ranked from cached per-word scores, the rest by
    # Whoosh: either way the documents, order and scores must be Whoosh's own.
    folder, _ = random_dir
    with Searcher(folder) as searcher:
        view = searcher.view()
        parsed = searcher.parse(q, view)[0] if isinstance(q, str) else q
        whooshes = view.searcher
        matched = view.docs(parsed)
        scored = scoring.with_feedback(
            whooshes, parsed, lambda q, n: view.best(q, matched, n), searcher.ranking.feedback
        )
        for ranked in (parsed, scored):
            assert (scoring.summed_terms(ranked) is not None) == (q in SUMMED), ranked
            whoosh = whooshes.search(ranked, limit=None).top_n
            assert whoosh and len(whoosh) == matched.bit_count(), q
            for limit in (1, 10, 1000):
                ours = view.best(ranked, matched, limit)
                assert [d for d, _ in ours] == [d for _, d in whoosh[:limit]], (q, limit)
                assert [s for _, s in ours] == pytest.approx([s for s, _ in whoosh[:limit]])


def test_cached_word_scores_stay_within_their_bound(random_dir, monkeypatch):
    folder, queries = random_dir
    # (every match scored, the way that caches whole words' scores: exports, cursors, and
    # the queries pruning would not save work on)
    monkeypatch.setattr(topk, "pruned_best", lambda *args, **kwargs: None)
    with Searcher(folder) as searcher:
        expected = [searcher.rank(q, 20) for q in queries]
    monkeypatch.setattr(docsets, "SCORE_CACHE_BYTES", 20_000)
    with Searcher(folder) as searcher:
        assert [searcher.rank(q, 20) for q in queries] == expected
        sets = searcher.view().sets
        assert 0 < sets.score_cache_bytes <= 20_000
        entries = sets.score_cache_entries()
        assert sets.score_cache_bytes == sum(map(docsets.score_bytes, entries))


@pytest.mark.parametrize("recency", [0.3, 1.0])
@pytest.mark.parametrize("q", ["harbour crane", '"harbour crane" OR ship', "harbour~"])
def test_prefer_recent_ranks_as_whoosh_blends(dated_client, q, recency):
    # Word queries blend the date into cached scores; others go through Whoosh's sort by the
    # blended score: both must give Whoosh's order and scores.
    searcher = dated_client.application.extensions["searcher"]
    view = searcher.view()
    parsed = searcher.parse(q, view)[0]
    newest = view.newest_ticks()
    dates = [f.get("published") for f in view.searcher.all_stored_fields()]
    assert newest == max(scoring.datetime_ticks(date) for date in dates if date)
    factors = view.sets.columns.recency_factors(view.searcher.reader(), recency, newest)
    blend = scoring.RecencyBlend(factors)
    whoosh = view.searcher.search(parsed, limit=None, sortedby=blend).top_n
    ours = view.best(parsed, view.docs(parsed), 10, False, (recency, newest))
    assert [d for d, _ in ours] == [d for _, d in whoosh[:10]]
    assert [s for _, s in ours] == pytest.approx([-k for k, _ in whoosh[:10]])


def _shape(q):
    """A query's class, attributes and parts, without where in the text the parser found it."""
    if isinstance(q, query.Query):
        attributes = {k: _shape(v) for k, v in vars(q).items() if k not in ("startchar", "endchar")}
        return type(q).__name__, attributes
    return [_shape(part) for part in q] if isinstance(q, list) else q


# Stop words, operators (in capitals only), digits, a stem that differs from its word.
WORDS = ["oil", "the", "of", "and", "AND", "or", "OR", "NOT", "not", "TO", "to", "REQUIRE",
         "ANDNOT", "ANDMAYBE", "Opec", "OPEC", "us", "U", "1987", "3", "dying", "x"]  # fmt: skip


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.sampled_from(WORDS) | st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([" ", "  "]),
    st.sampled_from(["", " "]),
)
def test_plain_words_are_read_as_whooshs_parser_reads_them(client, words, between, around):
    # Queries of plain words skip Whoosh's parser: the query built must be the parser's.
    parser = client.application.extensions["searcher"].view().parser
    text = around + between.join(words) + around
    ours = query_language.plain_words(parser, text)
    if {"AND", "OR", "NOT", "TO", "REQUIRE", "ANDNOT", "ANDMAYBE"} & set(words):
        assert ours is None
    else:
        assert _shape(ours) == _shape(parser.parse(text, normalize=False))
    for other in ('"oil price"', "oil*", "title:oil", "oil~", "(oil)", "oil-price", "oil\tprice"):
        assert query_language.plain_words(parser, text + " " + other) is None


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("date:[2025-01 to 2025-06]", {"d1", "d2"}),  # the help page's example
        ("date:[2025-01-15 to 2025-03-31]", {"d2"}),
        ("date:2025-03", {"d2"}),
        ("date:2025-07-04", {"d3"}),
        ("date:[20250101 to 20250131]", {"d1"}),
        ("date:2025", {"d1", "d2", "d3"}),
    ],
)
def test_date_clauses_narrow_to_their_range(tmp_path, q, expected):
    days = {"d1": "2025-01-10", "d2": "2025-03-05", "d3": "2025-07-04", "d4": "2024-12-31"}
    articles = [
        {"id": i, "url": f"https://example.org/{i}", "title": "Tides", "body": "Tides.",
         "published": f"{day}T12:00:00Z"}
        for i, day in days.items()
    ]  # fmt: skip
    ingest(tmp_path / "index", write_jsonl(tmp_path / "d.jsonl", *articles))
    with Searcher(tmp_path / "index") as searcher:
        assert {doc for doc, _ in searcher.rank(q)} == expected


@pytest.fixture(scope="module")
def spelling_dir(tmp_path_factory):
    """A corpus where "government" is common and a typo of it rare, with rare real words near
    common ones ("experts" beside "exports", "sad" beside "said")."""
    folder = tmp_path_factory.mktemp("spelling")
    stories = [
        {"id": f"g{n}", "title": f"Budget {n}", "body": "The government said exports grew."}
        for n in range(150)
    ]
    stories += [
        {"id": "typo", "title": "Debt", "body": "The goverment debt rose."},
        {"id": "experts", "title": "Panel", "body": "Experts met."},
        {"id": "experts2", "title": "Panel again", "body": "Experts met again."},
        {"id": "sad", "title": "Farewell", "body": "A sad day."},
        {"id": "debt", "title": "Debt", "body": "Debt fell."},
    ]
    ingest(folder / "index", write_jsonl(folder / "spelling.jsonl", *stories))
    return folder / "index"


@pytest.mark.parametrize(
    "q, suggestion",
    [
        # A rare word 150 times rarer than a spelling one edit away, among correct words.
        ("goverment debt", "government debt"),
        ("debt goverment", "debt government"),
        # An unknown word: the common spelling; the correct words are kept as typed.
        ("debt govrnment", "debt government"),
        ("exprots debt", "exports debt"),
        # ... even when the respelt query finds no more articles (every article with
        # "government" has "exports" too).
        ("exports govrnment", "exports government"),
        # Correct queries: no suggestion.
        ("government debt", None),
        ("debt", None),
        # Rare real words: "experts" is only 75 times rarer than "exports" (two articles
        # against 150), "sad" is too short to call a typo of "said".
        ("experts", None),
        ("sad day", None),
    ],
)
def test_did_you_mean_respells_each_word_on_its_own(spelling_dir, q, suggestion):
    request = SearchRequest.from_params({"q": [q]}, Searcher(spelling_dir).limits)
    assert Searcher(spelling_dir).search(request).suggestion == suggestion


@pytest.mark.parametrize("seeds", [30, 5000])
def test_pruning_gives_the_floats_of_scoring_every_match(random_dir, monkeypatch, seeds):
    # Short seeds make the longest lists look-ups; the same documents, order and scores as
    # scoring every match, with feedback, recency and a phrase gating its words.
    folder, queries = random_dir
    monkeypatch.setattr(topk, "SEED_POSTINGS", seeds)
    monkeypatch.setattr(topk, "PRUNE_FROM", 0)
    asked = [q for q in queries if "*" not in q] + ['"w1x w2x" OR w3x w4x']
    pruned = []
    real = topk.pruned_best

    def counted(*args, **kwargs):
        found = real(*args, **kwargs)
        pruned.append(found is not None)
        return found

    def ranked(view, searcher, q):
        parsed = searcher.parse(q, view)[0]
        matched = view.docs(parsed)
        scored = scoring.with_feedback(
            view.searcher, parsed, lambda q, n: view.best(q, matched, n), 0.3
        )
        newest = view.newest_ticks()
        return [
            view.best(ranked, matched, limit, False, recency)
            for ranked in (parsed, scored)
            for limit in (1, 10)
            for recency in (None, (0.5, newest))
        ]

    with Searcher(folder) as searcher:
        monkeypatch.setattr(topk, "pruned_best", counted)
        with_pruning = [ranked(searcher.view(), searcher, q) for q in asked]
    with Searcher(folder) as searcher:
        monkeypatch.setattr(view_module.IndexView, "_words", lambda self, words: None)
        every_match = [ranked(searcher.view(), searcher, q) for q in asked]
    assert with_pruning == every_match
    assert any(pruned)
