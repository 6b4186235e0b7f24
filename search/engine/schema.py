"""The index schema and its analyzers, defined once; nothing else spells the field names."""

from __future__ import annotations

import copyreg
import functools
import re
from collections import Counter
from datetime import UTC, datetime
from operator import sub
from pathlib import Path
from pickle import dumps
from typing import Any

import Stemmer
from whoosh import columns, fields
from whoosh import index as whoosh_index
from whoosh.analysis import (
    Filter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

from search.article import Article
from search.names import NameTable, name_key

# Field names.
ID = "id"
URL = "url"
TITLE = "title"
TOPICS = "topics"  # words of the topics, for search; the stored value is the list
PEOPLE = "people"  # likewise for people
BODY = "body"
TOPIC = "topic"  # exact topic values: filters and facets
PERSON = "person"  # exact person values: filters and facets
SOURCE = "source"
PUBLISHED = "published"
MONTH = "month"  # "YYYY-MM" of the publication date: the date facet
FETCHED = "fetched"
EXTRA = "extra"
STORY = "story"  # the story (cluster of near-identical bodies) as a number: collapse, filter

# Searched by a query's bare words, each scored by BM25 and added up. No field weighs more than
# another: in the leave-one-out tuning (bench/README.md) a title weight of .85 or 2 earned
# nothing over 1, and topics and people, which the test collections lack, are not weighed on
# a guess.
SEARCH_FIELDS = (TITLE, TOPICS, PEOPLE, BODY)
# What a user may write before a colon, and the field it searches.
FIELD_ALIASES = {
    TITLE: TITLE,
    BODY: BODY,
    TOPICS: TOPICS,
    "topic": TOPICS,
    PEOPLE: PEOPLE,
    "person": PEOPLE,
    SOURCE: SOURCE,
    PUBLISHED: PUBLISHED,
    "date": PUBLISHED,
}
# Request filter name -> exact field, and facet name -> field.
FILTER_FIELDS = {"topic": TOPIC, "person": PERSON, "source": SOURCE}
FACET_FIELDS = {"topics": TOPIC, "people": PERSON, "sources": SOURCE, "months": MONTH}

# Function words that carry no meaning in a query: NLTK's English list, as folded tokens (no
# bare contraction fragments such as "don" or "won", which are words in news), without the
# words a news query may mean: "us", "it", "who", "will" (US, IT, WHO, the verb), "me" (Me
# Too), "i" (World War I), "am" (9 am), "can", "so", "do", "he", "now", "here", "own" (names
# and tickers), negations, directions and quantities ("no", "up", "over", "more", "all"). In
# `search eval` it lifted CISI's nDCG@10 by .007 over the 30 commonest words (see README).
STOP_WORDS = frozenset(
    """
    a about above after an and are aren't as at be because been before being below between but
    by couldn't did didn't does doesn't doing don't during for from further had hadn't has
    hasn't have haven't having her hers herself him himself his how if in into is isn't its
    itself just mightn't mustn't my myself needn't of on or our ours ourselves shan't she should
    should've shouldn't than that that'll the their theirs them themselves then there these they
    this those through to too until was wasn't we were weren't what when where which while whom
    why with won't wouldn't you you'd you'll you're you've your yours yourself yourselves
    """.split()
)

# Acronyms written with dots (U.S., U.K.), numbers with separators (3.5, 1,000), then words with
# inner apostrophes (China's, O'Brien). Everything else, dotted tickers included, splits on
# punctuation, so "BRK.A" is found by "BRK".
# Every token starts with a word character: the lookahead lets the scan pass over the rest
# without trying each alternative (a sixth faster).
TOKEN_PATTERN = re.compile(
    r"(?=\w)(?:(?:[^\W\d_]\.){2,}|\d+(?:[.,]\d+)+|\w+(?:['\u2019]\w+)*)",
    re.UNICODE,
)

_STEMMER = Stemmer.Stemmer("english")


def stem(word: str) -> str:
    """Return the Snowball (Porter2) English stem of a lower-case word."""
    return _STEMMER.stemWord(word)


# What folding makes of each character after lower(): Whoosh's accent map, and the curly
# apostrophe straightened.
FOLD_CHARS = {**accent_map, ord("\u2019"): "'"}


def fold_text(text: str) -> str:
    """Lower case, accents removed, curly apostrophes straight: how words are compared, one
    character at a time (:func:`fold` does the rest for a token)."""
    return text.lower().translate(FOLD_CHARS)


def fold(word: str) -> str:
    """A token's searchable form before stemming: lower case, no accents, "U.S." -> "us",
    "China's" -> "china", curly apostrophes straight."""
    text = fold_text(word)
    if text.endswith("'s"):
        text = text[:-2]
    if "." in text and not text[0].isdigit():
        text = text.replace(".", "")
    return text


class NewsWordFilter(Filter):
    """Folds each token with :func:`fold` (one pass, for indexing speed)."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = fold(token.text)
            yield token


def news_analyzer(stemming: bool = True):
    """Return the analyzer of free-text fields: tokenise, fold, drop stop words, stem."""
    chain = (
        RegexTokenizer(TOKEN_PATTERN)
        | NewsWordFilter()
        | StopFilter(stoplist=STOP_WORDS, minsize=1)
    )
    return chain | StemFilter(stemfn=stem, cachesize=50000) if stemming else chain


class _IndexedForms(dict):
    """Raw token -> its indexed form (None for a stop word), filled on first sight.

    The same tokens recur all through a corpus, so indexing looks most of them up instead of
    running the analyzer chain once per token.
    """

    LIMIT = 200_000  # distinct raw tokens kept before the memo starts over (~30 MB)

    def __init__(self, stemming: bool):
        super().__init__()
        self.stemming = stemming

    def __missing__(self, raw: str) -> str | None:
        text = fold(raw)
        form = None if not text or text in STOP_WORDS else stem(text) if self.stemming else text
        if len(self) >= self.LIMIT:
            self.clear()
        self[raw] = form
        return form


class _TermBytes(dict):
    """Raw token -> its indexed form as the index's bytes (None for a stop word)."""

    def __missing__(self, raw: str) -> bytes | None:
        form = _STEMMED[raw]
        if len(self) >= _IndexedForms.LIMIT:
            self.clear()
        term = self[raw] = None if form is None else form.encode()
        return term


# Memos shared by the fields (and kept out of the schema Whoosh pickles).
_STEMMED = _IndexedForms(stemming=True)
_WRITTEN = _IndexedForms(stemming=False)
_TERM_BYTES = _TermBytes()


def indexed_form(token: str) -> str | None:
    """The term the index holds for one token of text (None for a stop word)."""
    return _STEMMED[token]


@functools.lru_cache(maxsize=8)
def _tokens(text: str) -> tuple[str, ...]:
    """The raw tokens of ``text``. The last few texts' are kept: indexing an article and
    counting its words for the lexicon ask for the same title and body."""
    return tuple(TOKEN_PATTERN.findall(text))


def term_counts(text: str) -> Counter[str]:
    """How many times each indexed term (stemmed, no stop words) occurs in ``text``."""
    counts = Counter(map(_STEMMED.__getitem__, _tokens(text)))
    counts.pop(None, None)
    return counts


def written_words(text: str) -> set[str]:
    """The distinct words of ``text`` as the index folds them, before stemming (no stop words)."""
    words = set(map(_WRITTEN.__getitem__, _tokens(text)))
    words.discard(None)
    return words


class NewsText(fields.TEXT):
    """A free-text field that indexes fast: the same terms, frequencies and positions as
    :func:`news_analyzer` gives Whoosh (tests/test_analysis.py checks they are equal), without
    a chain of generators and a token object per word. Queries and highlighting still run the
    analyzer itself."""

    def __init__(self, stored: bool = False):
        super().__init__(analyzer=news_analyzer(), phrase=True, stored=stored)

    def __reduce__(self):
        # Saved in an index's table of contents as Whoosh's own TEXT (it indexes the same
        # terms), so that any version of this code, or plain Whoosh, opens the index; writers
        # put the fast field back with create_schema().
        return copyreg._reconstructor, (fields.TEXT, object, None), self.__dict__.copy()

    def index(self, value, **kwargs):
        if not isinstance(value, str) or kwargs:
            return super().index(value, **kwargs)
        return self.terms_in_order(value)[0]

    def terms_in_order(self, value: str) -> tuple[list, list[bytes]]:
        """What :meth:`index` gives, and the text's terms in order, stop words left out."""
        # Each token's term (bytes), or None for a stop word.
        terms = list(map(_TERM_BYTES.__getitem__, _tokens(value)))
        kept = [term for term in terms if term is not None]
        if not kept:
            return [], kept
        # Stop words leave no gap (StopFilter renumbers): the first kept word keeps its place,
        # the rest follow it one by one.
        positions: dict[bytes, list[int]] = {}
        for pos, term in enumerate(kept, terms.index(kept[0])):
            positions.setdefault(term, []).append(pos)
        boost, single = self.format.field_boost, _ONE_POSITION
        items = [
            (term, 1, boost, _ONE + single[p[0]])
            if len(p) == 1
            else (term, len(p), len(p) * boost, _encode_positions(p))
            for term, p in positions.items()
        ]
        return items, kept


class _OnePosition(dict):
    """Position -> the pickled part of the encoded value of a word found once, at that position
    (the first 64 K positions are remembered). Each value is made anew from it: one object
    shared by two postings of a block would be pickled as a reference, not as Whoosh writes it."""

    def __missing__(self, pos: int) -> bytes:
        value = dumps([pos], 2)
        if pos < 65536:
            self[pos] = value
        return value


_ONE_POSITION = _OnePosition()
_ONE = pack_uint(1)


def _encode_positions(positions: list[int]) -> bytes:
    """What Whoosh's ``Positions.encode`` makes of a word's ascending positions."""
    return pack_uint(len(positions)) + dumps([positions[0], *map(sub, positions[1:], positions)], 2)


def _text():
    return NewsText(stored=True)


def create_schema() -> fields.Schema:
    """Return the schema of an index generation."""
    return fields.Schema(
        **{
            ID: fields.ID(unique=True, stored=True),
            URL: fields.STORED(),
            TITLE: _text(),
            TOPICS: _text(),
            PEOPLE: _text(),
            BODY: _text(),
            # Scorable only so that Whoosh keeps their lengths: without a length column its
            # writer looks for the missing column file once per posting, which is slow.
            TOPIC: fields.KEYWORD(commas=True, scorable=True),
            PERSON: fields.KEYWORD(commas=True, scorable=True),
            SOURCE: fields.ID(stored=True, sortable=True),
            # Missing dates sort as the oldest, so "newest first" puts undated articles last.
            PUBLISHED: fields.DATETIME(stored=True, sortable=columns.NumericColumn("Q", default=0)),
            MONTH: fields.ID(sortable=True),
            FETCHED: fields.STORED(),
            EXTRA: fields.STORED(),
            # One term per document (no range tiers); its column is the flat array collapsing
            # reads (0: no story known).
            STORY: fields.NUMERIC(
                int,
                bits=64,
                signed=False,
                stored=True,
                shift_step=0,
                sortable=columns.NumericColumn("Q", default=0),
            ),
        }
    )


def open_index(folder: str | Path) -> Any:
    """Open the Whoosh index in ``folder`` with :func:`create_schema`'s fields.

    An index's table of contents keeps a pickled copy of its schema, whose analyzers name
    the functions and classes of the module that wrote it; that copy is never read, so an
    index stays readable when this code moves.
    """
    return whoosh_index.open_dir(str(folder), schema=create_schema())


def _naive_utc(value: datetime | None) -> datetime | None:
    # Whoosh compares datetimes as naive ticks: index everything in UTC.
    return value.astimezone(UTC).replace(tzinfo=None) if value else None


def searched_names(written: list[str], canonical: list[str]) -> list[str]:
    """The people or topics an article is searched by: its canonical values, then each value
    as written whose words they do not all hold ("volcker" is in "Paul Volcker"; "Jim Baker"
    is not in "James Baker"), so that any spelling, and the name shown, finds it."""
    if canonical == written:
        return written
    held = {word for value in canonical for word in name_key(value).split()}
    return canonical + [v for v in written if not set(name_key(v).split()) <= held]


def article_document(
    article: Article, names: NameTable | None = None, record: bool = False
) -> dict[str, Any]:
    """Return the fields to index for ``article``; its people and topics are shown, filtered
    and counted by their canonical values in ``names`` (search.names; ``record``: add the
    values it has not seen), searched as written."""
    published = _naive_utc(article.published)
    people, topics = names.apply(article, record) if names else (article.people, article.topics)
    doc: dict[str, Any] = {
        ID: article.id,
        URL: article.url,
        TITLE: article.title,
        BODY: article.body,
        # The values are searched as one text: the canonical ones and the spellings the source
        # wrote that they do not cover; the stored lists and the exact fields hold the
        # canonical values. Positions run on across values, so a phrase can span the end of
        # one and the start of the next.
        TOPICS: "\n\n".join(searched_names(article.topics, topics)),
        f"_stored_{TOPICS}": topics,
        PEOPLE: "\n\n".join(searched_names(article.people, people)),
        f"_stored_{PEOPLE}": people,
        # A list is indexed value by value (commas inside a value are kept).
        TOPIC: topics,
        PERSON: people,
        SOURCE: article.source,
        FETCHED: article.fetched.isoformat() if article.fetched else None,
        EXTRA: article.extra,
    }
    if published:
        doc[PUBLISHED] = published
        doc[MONTH] = published.strftime("%Y-%m")
    if article.story is not None:
        doc[STORY] = article.story
    return doc


def stored_article(stored: dict[str, Any]) -> Article:
    """Return the article held in an index document's stored fields."""
    published = stored.get(PUBLISHED)
    fetched = stored.get(FETCHED)
    return Article(
        id=stored[ID],
        url=stored.get(URL) or "",
        title=stored.get(TITLE) or "",
        body=stored.get(BODY) or "",
        topics=list(stored.get(TOPICS) or []),
        people=list(stored.get(PEOPLE) or []),
        published=published.replace(tzinfo=UTC) if published else None,
        source=stored.get(SOURCE) or "",
        fetched=datetime.fromisoformat(fetched) if fetched else None,
        extra=stored.get(EXTRA) or {},
        story=stored.get(STORY),
        normalised=True,
    )
