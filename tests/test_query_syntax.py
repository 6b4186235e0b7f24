"""Every row of the help page's syntax table, checked against an independent implementation: the
articles each documented form matches, computed from the articles' own text with plain Python
(sets, positions, fnmatch, edit distance), must be the articles the search finds."""

from __future__ import annotations

import random
import re
from datetime import date
from fnmatch import fnmatchcase

import pytest

from search.engine.searcher import Searcher
from search.request import SearchRequest
from tests.conftest import ingest, write_jsonl

# Made-up words that the stemmer leaves as they are, so that the text's words are the index's.
VOCABULARY = ["alphax", "betax", "gammax", "deltax", "electx", "elecx", "tesx", "tanx"]
TOPICS = ["trade", "wang yi", "energy", "oil"]
PEOPLE = ["ana lopes", "james baker", "marta keller"]
SOURCES = ["wire", "daily"]
FIELDS = ("title", "body", "topics", "people")  # what a bare word searches


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """120 articles of random words, topics, people, sources and dates (seeded)."""
    rng = random.Random(19)
    articles = []
    for n in range(120):
        day = date(2024, 1, 1).toordinal() + rng.randrange(3 * 365)
        articles.append(
            {
                "id": f"s{n}",
                "url": f"https://example.org/s{n}",
                "title": " ".join(rng.sample(VOCABULARY, rng.randint(1, 3))),
                "body": " ".join(rng.choices(VOCABULARY, k=rng.randint(2, 9))),
                "topics": rng.sample(TOPICS, rng.randint(0, 2)),
                "people": rng.sample(PEOPLE, rng.randint(0, 2)),
                "source": rng.choice(SOURCES),
                "published": f"{date.fromordinal(day).isoformat()}T12:00:00Z",
            }
        )
    folder = tmp_path_factory.mktemp("syntax") / "index"
    ingest(folder, write_jsonl(folder.parent / "syntax.jsonl", *articles))
    return folder, articles


# --- The independent implementation: what each form means, over an article's own fields. ---


def words(article: dict, field: str) -> list[str]:
    value = article[field]
    text = " ".join(value) if isinstance(value, list) else value
    return re.findall(r"\w+", text.lower())


def has(word: str, *fields: str):
    return lambda a: any(word in words(a, f) for f in fields or FIELDS)


def phrase(first: str, second: str, slop: int = 1, *fields: str):
    """The two words in this order, at most ``slop`` positions apart, within one value."""

    def within(a: dict) -> bool:
        for field in fields or FIELDS:
            values = a[field] if isinstance(a[field], list) else [a[field]]
            for value in values:
                tokens = re.findall(r"\w+", value.lower())
                starts = [i for i, t in enumerate(tokens) if t == first]
                ends = [i for i, t in enumerate(tokens) if t == second]
                if any(0 < j - i <= slop for i in starts for j in ends):
                    return True
        return False

    return within


def pattern(glob: str):
    return lambda a: any(fnmatchcase(t, glob) for f in FIELDS for t in words(a, f))


def edits(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count one), the textbook table."""
    d = [[i + j if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(
                d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])
            )
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def near(word: str, distance: int):
    return lambda a: any(edits(word, t) <= distance for f in FIELDS for t in words(a, f))


def published(start: str, end: str):
    return lambda a: start <= a["published"][:10] <= end


def source(name: str):
    return lambda a: a["source"] == name


def both(*tests):
    return lambda a: all(t(a) for t in tests)


def either(*tests):
    return lambda a: any(t(a) for t in tests)


def without(test, excluded):
    return lambda a: test(a) and not excluded(a)


A, B, C = has("alphax"), has("betax"), has("gammax")

# Each row of the help page's table (web/templates/help.html), in its order, with what it means.
ROWS = [
    ("alphax betax", either(A, B)),
    ('"alphax betax"', phrase("alphax", "betax")),
    ('"alphax betax"~3', phrase("alphax", "betax", 3)),
    ("title:alphax", has("alphax", "title")),
    ("topic:trade", has("trade", "topics")),
    ('topics:"wang yi"', phrase("wang", "yi", 1, "topics")),
    ('person:"ana lopes"', phrase("ana", "lopes", 1, "people")),
    ("people:lopes", has("lopes", "people")),
    ("source:wire", source("wire")),
    ("date:2025", published("2025-01-01", "2025-12-31")),
    ("date:[2025-01 to 2025-06]", published("2025-01-01", "2025-06-30")),
    ("date:[2024-03-01 to 2024-03-31]", published("2024-03-01", "2024-03-31")),
    ("alphax AND betax", both(A, B)),
    ("+alphax betax", A),
    ("alphax OR betax", either(A, B)),
    ("alphax NOT betax", without(A, B)),
    ("alphax -betax", without(A, B)),
    ("(alphax OR betax) AND gammax", both(either(A, B), C)),
    ("elec*", pattern("elec*")),
    ("te?x", pattern("te?x")),
    ("alphx~", near("alphx", 1)),
    ("tesx~", near("tesx", 1)),  # (tanx is two letters away)
    ("tesx~2", near("tesx", 2)),
    ("what did alphax say about betax?", either(A, B)),
    # Field clauses among words restrict them, as the help page says.
    ("source:wire alphax", both(source("wire"), A)),
    ("alphax betax date:2025", both(published("2025-01-01", "2025-12-31"), either(A, B))),
    ('person:"ana lopes" gammax', both(phrase("ana", "lopes", 1, "people"), C)),
    ("title:alphax betax -gammax", without(both(has("alphax", "title"), B), C)),
    ("alphax OR source:wire", either(A, source("wire"))),  # an explicit OR stays optional
    # The boolean operators in more combinations.
    ("alphax AND NOT betax", without(A, B)),
    ("alphax betax NOT gammax", without(either(A, B), C)),
    ("alphax NOT betax gammax", without(either(A, C), B)),
    ("NOT alphax", lambda a: not A(a)),
    ("-alphax", lambda a: not A(a)),
    ("(alphax NOT betax) OR gammax", either(without(A, B), C)),
    ("gammax OR (alphax NOT betax)", either(without(A, B), C)),
    ("(alphax betax) OR gammax", either(A, B, C)),
    ("(alphax -betax) OR gammax", either(without(A, B), C)),
    ("alphax -(betax gammax)", without(A, either(B, C))),
    ("alphax (-betax)", without(A, B)),
    ("(-alphax) OR betax", without(B, A)),  # (NOT among words excludes, as everywhere)
]


@pytest.mark.parametrize(("q", "meaning"), ROWS, ids=lambda v: v if isinstance(v, str) else "")
def test_each_documented_form_matches_what_the_help_page_says(corpus, q, meaning):
    folder, articles = corpus
    expected = {a["id"] for a in articles if meaning(a)}
    assert expected, f"{q!r} should match something in the corpus"
    with Searcher(folder) as searcher:
        found = {doc for doc, _ in searcher.rank(q, 1000)}
        total = searcher.search(SearchRequest(q=q)).total
    assert found == expected, (q, sorted(found - expected), sorted(expected - found))
    assert total == len(expected)


def test_the_help_page_lists_the_forms_tested_here(client):
    page = client.get("/help").get_data(as_text=True)
    for form in ("title:", "topic:", "person:", "source:", "date:", "AND", "OR", "NOT", "~3"):
        assert form in page, form


def test_field_clauses_alone_rank_by_the_field_and_clauses_without_words_newest_first(tmp_path):
    def article(n: int, title: str, body: str, day: int) -> dict:
        return {
            "id": f"c{n}",
            "url": f"https://example.org/c{n}",
            "title": title,
            "body": body,
            "topics": ["coffee", "sugar"] if n else ["coffee"],
            "source": "wire",
            "published": f"2025-01-{day:02d}T12:00:00Z",
        }

    articles = [
        article(0, "Coffee growers meet", "Coffee quotas and coffee prices were discussed.", 1),
        article(1, "Softs roundup", "Sugar rose, cocoa fell and coffee was flat.", 3),
        article(2, "Markets close", "Shares closed higher on Friday.", 2),
    ]
    folder = tmp_path / "index"
    ingest(folder, write_jsonl(tmp_path / "c.jsonl", *articles))
    with Searcher(folder) as searcher:
        hits = searcher.search(SearchRequest(q="topics:coffee")).results
        assert hits[0].id == "c0" and len(hits) == 3  # (tagged coffee alone)
        assert hits[0].score > hits[1].score
        # Clauses with no words to weigh, or exclusions alone: the newest first.
        for q in ("source:wire", "-shares", "source:wire -shares", "NOT shares"):
            newest = [hit.id for hit in searcher.search(SearchRequest(q=q)).results]
            assert newest == [i for i in ("c1", "c2", "c0") if q == "source:wire" or i != "c2"]
        # A wildcard is scored, not listed by date.
        assert all(hit.score for hit in searcher.search(SearchRequest(q="coff*")).results)
