"""The analyzer a news reader expects: stems that work, US kept, acronyms and tickers found."""

import pytest

from search.schema import news_analyzer


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
