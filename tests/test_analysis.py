"""The analyzer a news reader expects: stems that work, US kept, acronyms and tickers found."""

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from whoosh import fields, highlight

from search.schema import NewsText, news_analyzer, written_words
from search.searcher import _context_fragments, _marked_tokens


def terms(text: str) -> list[str]:
    return [token.text for token in news_analyzer()(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("running", ["run"]),  # Whoosh's Porter gives "runn"
        ("runs ran", ["run", "ran"]),
        ("US trade", ["us", "trade"]),  # "us" is not a stop word here
        ("U.S. trade", ["us", "trade"]),  # dotted acronym folds onto the plain one
        ("the U.K. and the E.U.", ["uk", "eu"]),
        ("BRK.A shares", ["brk", "share"]),  # dotted ticker: found by its root
        ("China's and China’s", ["china", "china"]),
        ("Café Müller", ["cafe", "muller"]),
        ("inflation at 3.5%", ["inflat", "3.5"]),
        ("WHO warns", ["who", "warn"]),
        ("O’Brien", ["o'brien"]),
    ],
)
def test_news_analyzer(text, expected):
    assert terms(text) == expected


def _whoosh_index(field, text: str) -> list:
    """What Whoosh's own field type indexes for ``text``, through the analyzer chain."""
    return sorted(fields.TEXT.index(field, text))


def _agrees_with_the_analyzer(text: str) -> None:
    field = NewsText()
    assert sorted(field.index(text)) == _whoosh_index(field, text)
    assert written_words(text) == {t.text for t in news_analyzer(stemming=False)(text)}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "the of and",  # nothing but stop words
        "The U.S. and the E.U. said BRK.A rose 3.5% to 1,000.50 -- China's O’Brien, Café.",
        "of the oil and the gas of the oil",  # stop words first: positions start after them
        "İstanbul ß ﬁnance _ __init__ 2026-11-27 x'y 'quoted'",
    ],
)
def test_fast_indexing_matches_the_analyzer(text):
    _agrees_with_the_analyzer(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_fast_indexing_matches_the_analyzer_on_any_text(text):
    _agrees_with_the_analyzer(text)


def test_fast_indexing_matches_the_analyzer_on_the_demo_corpus():
    for path in sorted((Path(__file__).parent.parent / "demo").rglob("*.*")):
        _agrees_with_the_analyzer(path.read_text(encoding="utf-8", errors="replace"))


WORDS = ["oil", "prices", "rose", "a", "x", "extraordinarily", "OPEC's", "3.5", "U.S."]


@settings(max_examples=500, deadline=None)
# A marked first word has no context before it: its fragment runs on for twice the surround.
@example([("oil", " ")] + [("x", " ")] * 20, {"oil"}, 5, 100, None)
@example([("x", " ")] * 30 + [("oil", " ")] + [("a", " ")] * 20, {"oil"}, 5, 100, None)
@example([("oil", " ")] * 30, {"oil"}, 3, 10, 50)  # stops at the character limit
@given(
    st.lists(
        st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", ", ", " -- ", "\n\n", "; ... "])),
        max_size=400,
    ),
    st.sets(st.sampled_from(["oil", "price", "rose", "x", "opec", "extraordinarili"])),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=1, max_value=120),
    st.none() | st.integers(min_value=0, max_value=2000),
)
def test_snippets_jump_between_marked_words(pieces, marked, surround, maxchars, charlimit):
    # Snippet fragments are found by jumping between marked words: they must be those
    # Whoosh's fragmenter makes stepping through every word.
    text = "".join(word + gap for word, gap in pieces)
    fragmenter = highlight.ContextFragmenter(maxchars, surround, charlimit)

    def shape(fragments):
        return [(f.startchar, f.endchar, [t.startchar for t in f.matches]) for f in fragments]

    ours = _context_fragments(text, marked, fragmenter)
    whoosh = fragmenter.fragment_tokens(text, _marked_tokens(text, marked))
    assert shape(ours) == shape(whoosh)
