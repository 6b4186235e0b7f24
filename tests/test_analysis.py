"""The analyzer a news reader expects: stems that work, US kept, acronyms and tickers found."""

from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from whoosh import fields, highlight

from search.engine.highlight import (
    MarkFormatter,
    SnippetFragmenter,
    TitleFragmenter,
    highlight_text,
    marked_tokens,
)
from search.engine.schema import TOKEN_PATTERN, NewsText, indexed_form, news_analyzer, written_words


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
        # Function words go; words a news query means stay, contraction-like ones included.
        ("What did they say about it?", ["say", "it"]),
        ("Who will win? No one, up to now", ["who", "will", "win", "no", "one", "up", "now"]),
        ("Seoul won the Don may", ["seoul", "won", "don", "may"]),
        ("Me Too at 9 a.m. in World War I", ["me", "9", "am", "world", "war", "i"]),
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
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=1, max_value=120),
    st.none() | st.integers(min_value=0, max_value=2000),
)
def test_snippets_jump_between_marked_words(pieces, marked, surround, maxchars, charlimit):
    # Snippet fragments are found by jumping between marked words: they must be those
    # Whoosh's fragmenter makes stepping through every word.
    text = "".join(word + gap for word, gap in pieces)
    _fragments_agree(text, marked, SnippetFragmenter(maxchars, surround, charlimit))


def _fragments_agree(text: str, marked: set[str], fragmenter) -> None:
    """Our fragments of ``text`` are those Whoosh's fragmenter makes stepping through every
    word (the marked ones: those whose indexed form is in ``marked``)."""

    def shape(fragments):
        return [(f.startchar, f.endchar, [t.startchar for t in f.matches]) for f in fragments]

    ours = fragmenter.fragment_terms(text, marked)
    whoosh = fragmenter.fragment_tokens(text, marked_tokens(text, marked))
    assert shape(ours) == shape(whoosh)


# Words that fold or stem unusually: accents (precomposed, combining, a ligature, a dotted
# capital I), dotted acronyms, curly apostrophes, "dying" -> "die", the two Greek sigmas.
ODD_WORDS = [
    "Café", "cafe", "e\u0301clair", "ﬁnance", "İstanbul", "ß", "naïve", "U.S.", "us", "A's",
    "O’Brien", "o'brien", "dying", "die", "ΟΔΟΣ", "οδος", "ΑΣ", "3.5", "1,000", "oil", "OIL",
    "boil", "x",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@example([("ΑΣ", " ")], 1, 5, 20, None)  # "ας" as a word, "ασ" in a folded text
@example([("dying", " ")], 1, 5, 20, None)
@example([("3.5", ""), ("oil", " ")], 2, 5, 20, None)  # a word just after a number
@example([("x", ""), ("\u0303", ""), ("oil", " ")], 1, 5, 20, None)  # (folds to a letter)
@example([("Zu\u0308rich", " "), ("trick", " ")], 3, 5, 20, None)  # ("zutrich" when folded)
@example([("İstanbul", " "), ("oil", " ")], 1, 5, 20, None)  # ("İ" lowercases to two)
@example([("a", " "), ("oil", " ")], 1, 0, 10, None)  # no context
@given(
    st.lists(
        st.tuples(
            st.sampled_from(ODD_WORDS) | st.text(st.characters(codec="utf-8"), max_size=8),
            st.sampled_from([" ", ", ", "\n\n", "-", ".", "'", "’", ""]),
        ),
        max_size=60,
    ),
    st.integers(min_value=0),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=1, max_value=120),
    st.none() | st.integers(min_value=0, max_value=600),
)
def test_snippets_find_the_marked_words_of_any_text(pieces, seed, surround, maxchars, charlimit):
    # Marked words are found by searching a folded copy of the text for their stems' first
    # letters: every word whose indexed form is marked must be found, in any text.
    text = "".join(word + gap for word, gap in pieces)
    forms = sorted({form for raw in TOKEN_PATTERN.findall(text) if (form := indexed_form(raw))})
    marked = {form for i, form in enumerate(forms) if seed >> i & 1}
    _fragments_agree(text, marked, SnippetFragmenter(maxchars, surround, charlimit))
    # Titles: one fragment, the whole text, with every marked word.
    whole = TitleFragmenter(charlimit)
    fragments = whole.fragment_tokens(text, marked_tokens(text, marked))
    whoosh = MarkFormatter().format(
        highlight.top_fragments(fragments, 1, highlight.BasicFragmentScorer(), highlight.FIRST, 0)
    )
    assert highlight_text(text, marked, whole, minscore=0) == whoosh
