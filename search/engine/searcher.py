"""Query in, ranked hits with snippets, facets and suggestions out (no Whoosh types leak)."""

from __future__ import annotations

import html
import logging
import operator
import re
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from datetime import time as dtime
from functools import lru_cache, reduce
from itertools import groupby, islice
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import collectors, fields, highlight, qparser, query
from whoosh.automata.fsa import find_all_matches
from whoosh.automata.lev import levenshtein_automaton
from whoosh.qparser.dateparse import DateParserPlugin
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25FScorer
from whoosh.spelling import Corrector, ListCorrector
from whoosh.support.charset import accent_map

from search.article import Article
from search.engine import schema, scoring, suggest
from search.engine.lexicon import Lexicon
from search.engine.results import ArticleSummary, FacetCount, Hit, SearchResponse
from search.errors import IndexMissing, InvalidRequest
from search.generations import Generation, live_generation
from search.request import Limits, SearchRequest

logger = logging.getLogger(__name__)

FACET_SIZE = 10
# Memory for cached posting sets (bitsets) per process: thousands of words of a large corpus.
TERM_CACHE_BYTES = 32 * 1024 * 1024
# Memory for cached matches of phrases, wildcards and ranges (bitsets) per process.
QUERY_CACHE_BYTES = 16 * 1024 * 1024
# Memory for cached word scores per process: 12 bytes a posting and about 600 an entry (the
# arrays, the key, the dictionary). Every word of Reuters-21578's searched fields (70,000
# words, 1.4 million postings) takes about 60 MB.
SCORE_CACHE_BYTES = 64 * 1024 * 1024
_ENTRY_BYTES = 600
SNIPPET_CHARS = 240
# A query word found in at most this many documents gets a spelling check; a respelling is
# offered when it is in at least SUGGEST_MIN documents and SUGGEST_RATIO times as many.
RARE_DOC_FREQUENCY = 2
SUGGEST_MIN = 3
SUGGEST_RATIO = 20
# Bounds on what one query may cost (see _bound_query): fuzzy words beyond two edits expand to
# most of the vocabulary, slop beyond this is "anywhere in the text", and a boost of 1e400 would
# make a score of infinity, which is not JSON.
MAX_EDITS = 2
MAX_SLOP = 100
MAX_BOOST = 1000.0


class MarkFormatter(highlight.Formatter):
    """Escapes all document text and marks matches with <mark>, the snippet's only markup."""

    between = " … "

    def _text(self, text: str) -> str:
        # Paragraph breaks read as spaces in a one-line snippet.
        return html.escape(" ".join(text.split("\n\n")))

    def format_token(self, text, token, replace=False):
        return "<mark>" + self._text(highlight.get_text(text, token, replace)) + "</mark>"

    def format(self, fragments, replace=False):
        if not fragments:
            return ""
        fragments = sorted(fragments, key=lambda f: f.startchar)
        before = "… " if fragments[0].startchar > 0 else ""
        after = " …" if fragments[-1].endchar < len(fragments[-1].text) else ""
        return before + super().format(fragments, replace) + after


def _escaped_start(text: str, chars: int = SNIPPET_CHARS) -> str:
    """The opening of ``text``, cut at a word boundary, escaped."""
    if len(text) <= chars:
        return html.escape(text)
    return html.escape(text[:chars].rsplit(" ", 1)[0]) + " …"


# A word of three letters or more that is not a field name, wildcard or fuzzy term.
_PLAIN_WORD = re.compile(r"(?<![\w:*?~])[^\W\d_]{3,}(?![\w:*?~])")
_UNKNOWN_FIELD = re.compile(r"(?<![\w\"])([A-Za-z_]+):(?=\S)")


def _notices(text: str) -> list[str]:
    """Explain how a query that is not well formed was read."""
    notices = []
    if text.count('"') % 2:
        notices.append("An unmatched quote was ignored: the words were searched without it.")
    if text.count("(") != text.count(")"):
        notices.append("Unbalanced parentheses were ignored.")
    for name in dict.fromkeys(_UNKNOWN_FIELD.findall(text)):
        if name.lower() not in schema.FIELD_ALIASES:
            fields = ", ".join(f"{f}:" for f in schema.FIELD_ALIASES)
            notices.append(f"There is no field {name!r}: searched as words. Fields: {fields}")
    return notices


_FIELD_PREFIX = re.compile(r"\w+:")


def _only_common_words(text: str) -> bool:
    """Whether the words of a query, apart from operators and field names, are all stop words."""
    words = schema.TOKEN_PATTERN.findall(_FIELD_PREFIX.sub(" ", text))
    words = [word for word in words if word not in _OPERATORS]
    return bool(words) and all(schema.indexed_form(word) is None for word in words)


# A "?" is a one-letter wildcard only inside a word ("te?t"); elsewhere it ends a question.
_QUESTION_MARK = re.compile(r"(?<![\w*?])\?+|\?+(?![\w*?])")


# A query of plain words: letters and digits between spaces, none of them an operator.
_PLAIN_QUERY = re.compile(r" *[A-Za-z0-9]+(?: +[A-Za-z0-9]+)* *")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE", "TO"})


def _plain_words(parser: qparser.QueryParser, text: str) -> query.Query | None:
    """What ``parser.parse(text, normalize=False)`` makes of a query of plain words, built
    without the parser's tagging and filtering, which take half a millisecond (a search's
    most common query, and tests/test_query_features.py checks the two agree); None for any other
    query. Each word is an OR of the word in each searched field, with the field's boost."""
    words = text.split(" ")
    if not _PLAIN_QUERY.fullmatch(text) or not _OPERATORS.isdisjoint(words):
        return None
    return query.Or(
        [
            query.Or(
                [
                    term
                    for field, boost in schema.SEARCH_FIELDS.items()
                    if (term := parser.term_query(field, word, parser.termclass, boost=boost))
                    is not None
                ]
            )
            for word in words
            if word
        ]
    )


def _question_marks(text: str) -> str:
    """Read a question mark that ends a word or stands alone as punctuation, not a wildcard."""
    return _QUESTION_MARK.sub(" ", text)


def _walk(q: query.Query) -> Iterator[query.Query]:
    yield q
    for child in q.children():
        yield from _walk(child)


def _bound_query(q: query.Query, reader, max_expansion: int) -> tuple[query.Query, list[str]]:
    """Cap what ``q`` may cost, whatever was typed; return it with notices of what was capped.

    Fuzzy edits, phrase slop and boosts are clamped; wildcard and fuzzy words together expand
    to at most ``max_expansion`` index words (Whoosh would otherwise OR together every match,
    which for ``a*`` or ``wind~9`` is most of the vocabulary); a bare ``*`` is every article
    (Whoosh would walk every posting of every field to find the same set).
    """
    notices: dict[str, None] = {}
    multi = [s for s in _walk(q) if isinstance(s, query.MultiTerm)]
    share = max(1, max_expansion // len(multi)) if multi else 0

    def bound(sub: query.Query) -> query.Query:
        if getattr(sub, "boost", 1.0) > MAX_BOOST:
            sub.boost = MAX_BOOST
            notices[f"Boosts are capped at {MAX_BOOST:g}."] = None
        if isinstance(sub, query.Every) and sub.fieldname in (schema.TITLE, schema.BODY):
            return query.Every(boost=sub.boost)
        if isinstance(sub, query.Phrase) and sub.slop > MAX_SLOP:
            sub.slop = MAX_SLOP
            notices[f"Phrase distance is capped at ~{MAX_SLOP} words."] = None
        if isinstance(sub, query.FuzzyTerm) and sub.maxdist > MAX_EDITS:
            sub.maxdist = MAX_EDITS
            notices[f"Fuzzy words allow at most {MAX_EDITS} edits: {sub.text}~{MAX_EDITS}."] = None
        if isinstance(sub, query.FuzzyTerm):
            # `oil~2/9`: Whoosh's automaton fails on a fixed prefix longer than the word.
            sub.prefixlength = max(0, min(sub.prefixlength, len(sub.text) - 1))
        if isinstance(sub, query.Term) and sub.fieldname in reader.schema:
            try:
                reader.schema[sub.fieldname].to_bytes(sub.text)
            except Exception as error:  # e.g. date:"" -- Whoosh would raise it mid-search
                raise InvalidRequest(
                    f"could not understand {sub.fieldname}:{sub.text!r} ({error})"
                ) from None
        if isinstance(sub, query.MultiTerm):
            expanded = list(islice(sub.expanded_terms(reader), share + 1))
            if len(expanded) > share:
                if isinstance(sub, query.TermRange):
                    word = f"[{sub.start} to {sub.end}]"
                else:
                    word = sub.text + ("*" if isinstance(sub, query.Prefix) else "")
                    word += "~" if isinstance(sub, query.FuzzyTerm) else ""
                notices[
                    f"{word} matches too many words; only the first {share} were searched "
                    "(make it longer to be more precise)."
                ] = None
                fieldtype = reader.schema[sub.fieldname]
                # Fuzzy terms expand to str, wildcards to bytes.
                terms = [
                    query.Term(name, text if isinstance(text, str) else fieldtype.from_bytes(text))
                    for name, text in expanded[:share]
                ]
                return query.Or(terms, boost=sub.boost)
        return sub

    return q.accept(bound), list(notices)


def _weigh_repeats(q: query.Query) -> query.Query:
    """Make a word given more than once in a group count more (Whoosh would drop the
    repeats): one part with the group's boosts of it added up, then saturated."""
    if not isinstance(q, query.CompoundQuery) or isinstance(q, query.Not):
        return q
    same: dict[query.Query, list[float]] = {}  # a part at boost 1 -> its boosts as typed
    for sub in q.subqueries:
        sub = _weigh_repeats(sub)
        plain = sub.copy()
        plain.boost = 1.0
        same.setdefault(plain, []).append(sub.boost)
    for plain, boosts in same.items():
        plain.boost = scoring.repeated(sum(boosts), len(boosts)) if len(boosts) > 1 else boosts[0]
    q.subqueries = list(same)
    return q


def _close_all(searchers: dict[int, Any]) -> None:
    """Close the Whoosh searchers in ``searchers`` and forget them."""
    for searcher in searchers.values():
        searcher.close()
    searchers.clear()


def _bits(docnums, size: int) -> int:
    """A set of document numbers as a bitset: a Python int whose bit d stands for document d."""
    data = bytearray((size + 7) // 8)
    for docnum in docnums:
        data[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(data, "little")


def _mask(bits: int, size: int) -> np.ndarray:
    """A bitset as an array of ``size`` booleans."""
    data = np.frombuffer(bits.to_bytes((size + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(data, count=size, bitorder="little").view(bool)


def _docnum_array(bits: int, size: int) -> np.ndarray:
    """The document numbers in a bitset, in order, as an array."""
    return np.flatnonzero(_mask(bits, size))


def _score_bytes(entry: tuple[np.ndarray, np.ndarray]) -> int:
    """What one word's cached scores cost in memory."""
    docs, values = entry
    return docs.nbytes + values.nbytes + _ENTRY_BYTES


def _docnums(bits: int) -> list[int]:
    """The document numbers in a bitset, in order."""
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    return [i * 8 + b for i, byte in enumerate(data) if byte for b in range(8) if byte >> b & 1]


class _LexiconCorrector(Corrector):
    """Whoosh's corrector over a lexicon's words, ranking words within reach by article count."""

    def __init__(self, counts: dict[str, int]):
        self.counts = counts
        self.words = sorted(counts)

    def _suggestions(self, text: str, maxdist: int, prefix: int) -> Iterator[tuple[int, str]]:
        if not self.words:
            return
        dfa = levenshtein_automaton(text, maxdist, prefix).to_dfa()
        for word in find_all_matches(dfa, ListCorrector.Skipper(self.words)):
            yield self.counts[word], word


class _DocSets:
    """Cached document sets of one version of the index, shared by a process's threads.

    Sets are bitsets (Python ints): a corpus of N documents costs N/8 bytes a set, and union,
    intersection and counting run in C. Dropped as soon as the index changes, so nothing here
    outlives the document numbers it describes.
    """

    def __init__(self, reader, folder: Path):
        self.folder = folder
        self.size = reader.doc_count_all()
        self.all = _bits(reader.all_doc_ids(), self.size)
        self._terms: dict[tuple[str, str], int] = {}
        self._term_bytes = 0
        self._scores: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._score_bytes = 0
        self._lock = threading.Lock()  # for the caches' bookkeeping (eviction iterates them)
        self._matches: dict[query.Query, int] = {}
        self._published: list[Any] | None = None
        self._recency: dict[tuple[float, int], np.ndarray] = {}
        self._facets: dict[str, list[tuple[str, int]]] | None = None
        self._everything: dict[str, list[FacetCount]] | None = None
        self._lengths: dict[tuple[int, str], np.ndarray] = {}  # per segment and field, -1 unread
        self._date_rank: np.ndarray | None = None  # each document's place, newest first
        self._newest_ticks: int | None = None
        self._respellings: dict[str, str | None] = {}
        self._lexicon: Lexicon | None = None
        self._corrector = None

    @property
    def lexicon(self) -> Lexicon:
        """The generation's written words (read when first needed)."""
        if self._lexicon is None:
            lexicon = Lexicon.load(self.folder)
            if lexicon is None:
                logger.warning(
                    "no readable lexicon in %s: no spelling suggestions until the next ingest "
                    "or reindex",
                    self.folder,
                )
                lexicon = Lexicon()
            self._lexicon = lexicon
        return self._lexicon

    def term(self, reader, fieldname: str, text: str) -> int:
        """The documents holding a term (cached: popular words recur across queries)."""
        key = (fieldname, text)
        bits = self._terms.get(key)
        if bits is None:
            try:
                bits = _bits(reader.postings(fieldname, text).all_ids(), self.size)
            except TermNotFound:
                bits = 0
            with self._lock:
                self._term_bytes += self.size // 8
                while self._terms and self._term_bytes > TERM_CACHE_BYTES:
                    self._terms.pop(next(iter(self._terms)))  # the oldest entry
                    self._term_bytes -= self.size // 8
                self._terms[key] = bits
        return bits

    def matches(self, searcher, q: query.Query) -> int:
        """The documents a phrase, wildcard or range matches, by Whoosh (the latest cached: a
        phrase is read once for the total and again where it gates its words' scores)."""
        bits = self._matches.get(q)
        if bits is None:
            bits = _bits(searcher.docs_for_query(q), self.size)
            with self._lock:
                while self._matches and len(self._matches) * self.size // 8 > QUERY_CACHE_BYTES:
                    self._matches.pop(next(iter(self._matches)))
                self._matches[q] = bits
        return bits

    def term_scores(self, searcher, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding a term and the score Whoosh's matcher gives each (cached;
        the least recently used terms go first)."""
        key = (fieldname, text)
        with self._lock:
            found = self._scores.pop(key, None)
            if found is not None:
                self._scores[key] = found
                return found
        docs, scores = [np.zeros(0, dtype=np.int32)], [np.zeros(0)]
        term, context = query.Term(fieldname, text), searcher.context()
        for segment, offset in searcher.leaf_searchers():
            matcher = term.matcher(segment, context)
            if not matcher.is_active():
                continue  # (not in this segment)
            scorer = searcher.weighting.scorer(segment, fieldname, text)
            # BM25 is computed here from each posting's weight and its document's field length,
            # the scorer's arithmetic in the scorer's order, without its calls per posting to
            # read one length; any other model scores posting by posting.
            bm25 = type(scorer) is BM25FScorer
            value = matcher.weight if bm25 else matcher.score
            ids, values = [], []
            while matcher.is_active():
                ids.append(matcher.id())
                values.append(value())
                matcher.next()
            found = np.array(values, dtype=float)
            if bm25:
                fl = self.field_lengths(segment, offset, fieldname, np.array(ids, dtype=np.int64))
                k1, b, avgfl, tf = scorer.K1, scorer.B, scorer.avgfl, found
                found = scorer.idf * ((tf * (k1 + 1)) / (tf + k1 * ((1 - b) + b * fl / avgfl)))
            docs.append(np.array(ids, dtype=np.int32) + offset)
            scores.append(found)
        found = (np.concatenate(docs), np.concatenate(scores))
        with self._lock:
            if key not in self._scores:
                self._score_bytes += _score_bytes(found)
                self._scores[key] = found
            while len(self._scores) > 1 and self._score_bytes > SCORE_CACHE_BYTES:
                self._score_bytes -= _score_bytes(self._scores.pop(next(iter(self._scores))))
        return found

    def field_lengths(self, segment, offset: int, fieldname: str, docs: np.ndarray) -> np.ndarray:
        """The lengths in a field, as Whoosh stores them, of some documents of the segment
        that starts at document ``offset`` (numbered within it). Each is read once, when
        first asked for, so that the first query after a change reads only what it needs."""
        key = (offset, fieldname)
        with self._lock:
            lengths = self._lengths.get(key)
            if lengths is None:
                lengths = self._lengths[key] = np.full(segment.doc_count_all(), -1.0)
        found = lengths[docs]
        for i in np.flatnonzero(found < 0).tolist():
            found[i] = lengths[docs[i]] = segment.doc_field_length(int(docs[i]), fieldname) or 0
        return found

    def recency_factors(self, reader, recency: float, newest: int) -> np.ndarray:
        """Each document's "prefer recent" multiplier (cached for the latest few weights)."""
        key = (recency, newest)
        factors = self._recency.get(key)
        if factors is None:
            factors = np.array(
                [
                    scoring.recency_factor(scoring.column_ticks(value), newest, recency)
                    for value in self.published(reader)
                ]
            )
            with self._lock:
                if len(self._recency) >= 8:
                    self._recency.pop(next(iter(self._recency)))
                self._recency[key] = factors
        return factors

    def facets(self, reader, matched: int) -> dict[str, list[FacetCount]]:
        """The top values of each facet, counted over the documents in ``matched``."""
        if matched == self.all and self._everything is not None:
            return self._everything
        if self._facets is None:
            self._facets = {
                name: [
                    (
                        term.decode("utf-8"),
                        _bits(reader.postings(fieldname, term).all_ids(), self.size),
                    )
                    for term in reader.lexicon(fieldname)
                ]
                for name, fieldname in schema.FACET_FIELDS.items()
            }
        counts = {}
        for name, values in self._facets.items():
            found = ((value, (bits & matched).bit_count()) for value, bits in values)
            top = sorted((item for item in found if item[1]), key=lambda i: (-i[1], i[0]))
            counts[name] = [FacetCount(v, c) for v, c in top[:FACET_SIZE]]
        if matched == self.all:
            self._everything = counts
        return counts

    def newest_ticks(self, searcher) -> int:
        """The newest publication date of this version of the index, in ticks (read once)."""
        if self._newest_ticks is None:
            self._newest_ticks = scoring.newest_ticks(searcher)
        return self._newest_ticks

    def published(self, reader) -> list[Any]:
        """Each document's publication date as the date column holds it, falsy when undated
        (read once)."""
        if self._published is None:
            # Segment by segment: Whoosh's multi-segment column reader fails when a segment
            # has no dated document (and so no column).
            values: list[Any] = []
            for segment, _ in reader.leaf_readers():
                size = segment.doc_count_all()
                if segment.has_column(schema.PUBLISHED):
                    column = segment.column_reader(schema.PUBLISHED)
                    values += [column[d] for d in range(size)]
                else:
                    values += [None] * size
            self._published = values
        return self._published

    def newest(self, reader, matched: int, count: int) -> list[int]:
        """The ``count`` most recently published documents of ``matched`` (undated ones last)."""
        if self._date_rank is None:
            # Undated documents count as oldest; of two the same age, the later added first.
            dates = [value or datetime.min for value in self.published(reader)]
            order = sorted(_docnums(self.all), key=lambda d: (dates[d], -d), reverse=True)
            self._date_rank = np.zeros(self.size, dtype=np.int64)
            self._date_rank[order] = np.arange(len(order))
        docs = _docnum_array(matched, self.size)
        ranks = self._date_rank[docs]
        if len(docs) > count:
            docs, ranks = (a[np.argpartition(ranks, count)[:count]] for a in (docs, ranks))
        return docs[np.argsort(ranks)].tolist()

    def respell(self, searcher, word: str) -> str | None:
        """A much more common near spelling of a rare ``word``, or None (cached)."""
        if word in self._respellings:
            return self._respellings[word]
        reader = searcher.reader()
        analyzer = searcher.schema[schema.BODY].analyzer
        stems = [t.text for t in analyzer(word)]
        rarity = reader.doc_frequency(schema.BODY, stems[0]) if stems else RARE_DOC_FREQUENCY + 1
        best, best_frequency = None, 0
        if rarity <= RARE_DOC_FREQUENCY:
            if self._corrector is None:
                self._corrector = _LexiconCorrector(self.lexicon.counts)
            corrector = self._corrector
            # One edit finds most typos and is far cheaper to look for than two.
            candidates = corrector.suggest(word.lower(), limit=5, maxdist=1, prefix=1)
            candidates = candidates or corrector.suggest(word.lower(), limit=5, maxdist=2, prefix=1)
            for candidate in candidates:
                candidate_stems = [t.text for t in analyzer(candidate)]
                frequency = (
                    reader.doc_frequency(schema.BODY, candidate_stems[0]) if candidate_stems else 0
                )
                if frequency > best_frequency:
                    best, best_frequency = candidate, frequency
        if best_frequency < max(SUGGEST_MIN, SUGGEST_RATIO * rarity):
            best = None
        if len(self._respellings) >= 10_000:
            self._respellings.pop(next(iter(self._respellings)))
        self._respellings[word] = best
        return best


@dataclass
class _Snapshot:
    """A thread's Whoosh searcher and parser, with the document sets of its index version."""

    searcher: Any
    parser: qparser.QueryParser
    sets: _DocSets

    def docs(self, q: query.Query) -> int:
        """Every document ``q`` matches, unscored, as a bitset.

        Words and their combinations are answered from cached posting sets; anything else
        (phrases, wildcards, ranges) by Whoosh's own matcher.
        """
        if isinstance(q, query.Term) and isinstance(q.text, str):
            return self.sets.term(self.searcher.reader(), q.fieldname, q.text)
        if isinstance(q, query.Every):
            return self.sets.all
        if q is query.NullQuery:
            return 0
        if type(q) in (query.Or, query.DisjunctionMax):
            return reduce(operator.or_, (self.docs(sub) for sub in q.subqueries), 0)
        if type(q) is query.And:
            return reduce(operator.and_, (self.docs(sub) for sub in q.subqueries), self.sets.all)
        if type(q) is query.AndNot:
            return self.docs(q.a) & ~self.docs(q.b)
        if type(q) is query.AndMaybe:
            return self.docs(q.a)
        if type(q) is query.Require:
            return self.docs(q.a) & self.docs(q.b)
        return self.sets.matches(self.searcher, q)

    def best(
        self,
        q: query.Query,
        matched: int,
        limit: int,
        filtered: bool = False,
        recency: tuple[float, int] | None = None,
    ) -> list[tuple[int, float]]:
        """The ``limit`` best of ``matched`` (the documents ``q`` matches, within any filters)
        scored by ``q``: (document number, score), best first, ties by document number.

        A query that adds up word scores (plain words, AND/OR/NOT, phrases, feedback) is scored
        from each word's cached scores, the same figures Whoosh's matchers give; anything else
        by Whoosh, told the documents of ``matched`` when the request is ``filtered``.
        ``recency`` (the reader's weight, the newest date in ticks) blends dates into scores.
        """
        if not matched:
            return []  # (Whoosh would read an empty filter as no filter)
        words = scoring.summed_terms(q)
        if words is None:
            # Whoosh, without the pruning of its top-N collector: an array union reports the
            # largest of its parts' best scores instead of their sum, so pruning by that bound
            # drops documents that belong in the top.
            if recency:
                ranked = collectors.SortingCollector(scoring.RecencyBlend(*recency), limit=limit)
            else:
                ranked = collectors.TopCollector(limit, usequality=False, replace=0)
            found = ranked
            if filtered:  # (a filter costs Whoosh a check per match: only when it narrows)
                found = collectors.FilterCollector(ranked, set(_docnums(matched)))
            self.searcher.search_with_collector(q, found)
            # top_n rather than len() or iteration, which would count every match. A blend's
            # sort key is the negated blended score.
            sign = -1 if recency else 1
            return [(docnum, sign * key) for key, docnum in found.results().top_n]
        size = self.sets.size
        scores = np.zeros(size)
        masks: dict[tuple[query.Query, ...], np.ndarray] = {}
        for fieldname, text, boost, gates in words:
            docs, values = self.sets.term_scores(self.searcher, fieldname, text)
            if gates:
                if gates not in masks:
                    gate = reduce(operator.and_, (self.docs(g) for g in gates), self.sets.all)
                    masks[gates] = _mask(gate, size)
                keep = masks[gates][docs]
                docs, values = docs[keep], values[keep]
            scores[docs] += values * boost
        docs = _docnum_array(matched, self.sets.size)
        values = scores[docs]
        if recency:
            values = values * self.sets.recency_factors(self.searcher.reader(), *recency)[docs]
        if len(docs) > limit:
            # Everything that ties with the last place, then the order Whoosh gives.
            keep = values >= np.partition(values, len(docs) - limit)[len(docs) - limit]
            docs, values = docs[keep], values[keep]
        order = np.lexsort((docs, -values))[:limit]
        return [(int(docs[i]), float(values[i])) for i in order]

    def facets(self, matched: int) -> dict[str, list[FacetCount]]:
        """The top values of each facet over ``matched``."""
        return self.sets.facets(self.searcher.reader(), matched)

    def newest(self, matched: int, count: int) -> list[int]:
        """The ``count`` newest documents of ``matched``."""
        return self.sets.newest(self.searcher.reader(), matched, count)

    def respell(self, word: str) -> str | None:
        """A common near spelling of a rare word, or None."""
        return self.sets.respell(self.searcher, word)

    def newest_ticks(self) -> int:
        """The newest publication date of the index, in Whoosh's ticks."""
        return self.sets.newest_ticks(self.searcher)


class Searcher:
    """Searches the live generation of a data folder; picks up new generations by itself.

    Safe to share between threads: each thread gets its own Whoosh searcher.
    """

    def __init__(self, data_dir: str | Path, limits: Limits | None = None):
        self.data_dir = Path(data_dir)
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._index = None
        self._local = threading.local()
        self._vocabulary = None  # (its _DocSets, suggest.Vocabulary) of the autocomplete
        self._open: dict[int, Any] = {}  # thread ident -> its Whoosh searcher
        # Files are closed even when nobody calls close(): when this object is collected.
        weakref.finalize(self, _close_all, self._open)
        self._shared_key: tuple | None = None
        self._shared: _DocSets | None = None

    def _snapshot(self) -> _Snapshot:
        """The calling thread's searcher over the newest version of the live generation."""
        generation = live_generation(self.data_dir)
        if generation is None:
            raise IndexMissing(f"no index in {self.data_dir}: run `search ingest` first")
        with self._lock:
            if generation != self._generation:
                self._index = schema.open_index(generation.path)
                self._generation = generation
            index = self._index
        local = self._local
        current: _Snapshot | None = getattr(local, "snapshot", None)
        if current is None or local.generation != generation:
            searcher = index.searcher(weighting=scoring.weighting())
            sets = self._sets(searcher, generation)
            local.snapshot = _Snapshot(searcher, self._parser(searcher), sets)
            local.generation = generation
            self._track(searcher, close_previous=True)
        elif not current.searcher.up_to_date():
            if current.searcher.doc_count_all():
                # refresh() hands the segments it can reuse to the new searcher and closes the
                # rest.
                searcher, close_previous = current.searcher.refresh(), False
            else:  # Whoosh's refresh() fails on an index that had no segment: open anew
                searcher, close_previous = index.searcher(weighting=scoring.weighting()), True
            sets = self._sets(searcher, generation)
            local.snapshot = _Snapshot(searcher, current.parser, sets)
            self._track(searcher, close_previous=close_previous)
        return local.snapshot

    def _track(self, searcher, close_previous: bool) -> None:
        """Remember the calling thread's Whoosh searcher, so that its files are closed.

        Closes the thread's previous searcher (unless refresh() already did) and those of
        threads that have ended.
        """
        with self._lock:
            previous = self._open.pop(threading.get_ident(), None)
            if previous is not None and close_previous:
                previous.close()
            alive = {thread.ident for thread in threading.enumerate()}
            for ident in [i for i in self._open if i not in alive]:
                self._open.pop(ident).close()
            self._open[threading.get_ident()] = searcher

    def close(self) -> None:
        """Close every open Whoosh searcher (of all threads)."""
        with self._lock:
            _close_all(self._open)
        self._local = threading.local()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _sets(self, searcher, generation: Generation) -> _DocSets:
        """The document sets of the searcher's index version, shared by this process's threads."""
        key = (generation, searcher.reader().generation())
        with self._lock:
            if self._shared_key != key:
                self._shared = _DocSets(searcher.reader(), generation.path)
                self._shared_key = key
            return self._shared

    def _searcher(self):
        """The calling thread's Whoosh searcher over the newest live generation."""
        return self._snapshot().searcher

    def _parser(self, searcher) -> qparser.QueryParser:
        # Only the documented fields may be named: `url:x` or `month:x` are words, as the
        # notices say, rather than searches of internal fields (or errors, for stored-only ones).
        queryable = fields.Schema()
        for name in dict.fromkeys(schema.FIELD_ALIASES.values()):
            queryable.add(name, searcher.schema[name])
        parser = qparser.MultifieldParser(
            list(schema.SEARCH_FIELDS),
            queryable,
            fieldboosts=schema.SEARCH_FIELDS,
            # Any word may match; BM25 adds up the words a document has, so documents with
            # more of them rank higher. (Whoosh's OrGroup "scale" bonus is lost when the query
            # is normalised, so none is asked for.)
            group=qparser.OrGroup,
        )
        aliases: dict[str, list[str]] = {}
        for alias, target in schema.FIELD_ALIASES.items():
            if alias != target:
                aliases.setdefault(target, []).append(alias)
        parser.add_plugin(qparser.FieldAliasPlugin(aliases))
        # + and - mark a word only at its start: "real-gas" and "Coca-Cola" are not exclusions,
        # and a dash standing alone ("pitot tubes - calibration") is punctuation.
        parser.add_plugin(qparser.PlusMinusPlugin(r"(?<![^\s(])\+(?=\S)", r"(?<![^\s(])-(?=\S)"))
        parser.add_plugin(qparser.FuzzyTermPlugin())
        parser.add_plugin(DateParserPlugin(free=False))
        return parser

    def _parse(self, text: str, snapshot: _Snapshot | None = None) -> tuple[query.Query, list[str]]:
        """Parse a query in the documented syntax; return it with notices for the reader.

        Raises:
            InvalidRequest: the query cannot be read at all.
        """
        if not text:
            return query.Every(), []
        snapshot = snapshot or self._snapshot()
        notices = _notices(text)
        parser = snapshot.parser
        try:
            parsed = _plain_words(parser, text)
            if parsed is None:
                parsed = parser.parse(_question_marks(text), normalize=False)
        except Exception as error:  # Whoosh's parser raises many kinds; all mean a bad query.
            logger.debug("unparseable query %r: %s", text, error)
            raise InvalidRequest(
                f"could not understand the query ({error}); check its AND, OR, NOT and brackets"
            ) from None
        parsed = _weigh_repeats(parsed).normalize()
        if parsed is query.NullQuery and _only_common_words(text):
            notices.append(
                "Every word of the query is too common to search (such as “the”, “what” or "
                "“about”): add a word that says what you are looking for."
            )
        reader = snapshot.searcher.reader()
        parsed, bounded = _bound_query(parsed, reader, self.limits.max_expansion)
        return parsed, notices + bounded

    def rank(self, text: str, limit: int = 1000) -> list[tuple[str, float]]:
        """Return the ids and scores of the best ``limit`` matches of a query, best first.

        The ranking of :meth:`search` without its snippets and facets (for evaluation).
        """
        snapshot = self._snapshot()
        searcher = snapshot.searcher
        parsed, _ = self._parse(text, snapshot)
        matched = snapshot.docs(parsed)
        scored = scoring.with_feedback(searcher, parsed, self._feedback_docs(snapshot, matched))
        return [
            (searcher.stored_fields(docnum)[schema.ID], score)
            for docnum, score in snapshot.best(scored, matched, limit)
        ]

    @staticmethod
    def _feedback_docs(snapshot: _Snapshot, matched: int, filtered: bool = False):
        """The function with_feedback asks for a query's best documents."""
        return lambda q, count: snapshot.best(q, matched, count, filtered)

    def _matches(self, request: SearchRequest, snapshot: _Snapshot, parsed) -> int:
        """The documents that match the query and pass every filter, as a bitset."""
        docs = snapshot.docs(parsed)
        restriction = _filter_query(request)
        if restriction is not None:
            docs = docs & snapshot.docs(restriction)
        return docs

    def search(self, request: SearchRequest) -> SearchResponse:
        """Run ``request``; return the response of the search contract.

        The match set (for the total and the facets) comes from cached posting sets; only the
        page is scored by Whoosh, and only the page is highlighted.
        """
        started = time.perf_counter()
        snapshot = self._snapshot()
        searcher = snapshot.searcher
        parsed, notices = self._parse(request.q, snapshot)
        matched = self._matches(request, snapshot, parsed)
        start, end = (request.page - 1) * request.per_page, request.page * request.per_page
        scored = parsed
        if not matched:
            page = []  # (Whoosh would read an empty filter as no filter)
        elif request.sort == "newest" or not request.q:
            page = [(docnum, None) for docnum in snapshot.newest(matched, end)[start:]]
        else:
            filtered = request.has_filters
            best = self._feedback_docs(snapshot, matched, filtered)
            scored = scoring.with_feedback(searcher, parsed, best)
            blend = (request.recency, snapshot.newest_ticks()) if request.recency else None
            page = snapshot.best(scored, matched, end, filtered, blend)[start:end]
        terms = _highlight_terms(parsed, searcher.reader())
        hits = []
        for docnum, score in page:
            explain = None
            if request.explain and request.q:
                explain = self._explain(snapshot, scored, docnum, score, request, parsed)
            hits.append(self._hit(searcher, docnum, score, terms, explain))
        total = matched.bit_count()
        response = SearchResponse(
            request=request.to_params(),
            total=total,
            results=hits,
            facets=snapshot.facets(matched),
            suggestion=self._suggest(request, snapshot, total) if request.q else None,
            notices=notices,
            generation=self._generation.name if self._generation else None,
        )
        response.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return response

    @staticmethod
    def _explain(
        snapshot: _Snapshot,
        scored,
        docnum: int,
        score: float | None,
        request: SearchRequest,
        parsed,
    ) -> dict[str, Any]:
        """Why a hit ranked: its score by field and word, and the recency factor applied."""
        searcher = snapshot.searcher
        detail = scoring.explain(searcher, scored, docnum, scoring.query_words(parsed))
        factor, score = 1.0, score or 0.0
        if request.recency and request.sort != "newest":
            published = searcher.stored_fields(docnum).get(schema.PUBLISHED)
            ticks = scoring.datetime_ticks(published) if published else 0
            factor = scoring.recency_factor(ticks, snapshot.newest_ticks(), request.recency)
            score = score / factor if factor else 0.0  # the blended score, back to relevance
        # What single words do not account for: phrases, wildcards, fuzzy words.
        other = score - sum(detail["fields"].values())
        return {
            **detail,
            "other": round(other, 4) if other > 1e-3 else 0.0,
            "recency_factor": round(factor, 4),
        }

    def similar(self, article_id: str, limit: int = 5) -> list[ArticleSummary] | None:
        """Articles like the one with this id, best first; None when there is no such article."""
        searcher = self._searcher()
        docnum = searcher.document_number(**{schema.ID: article_id})
        if docnum is None:
            return None
        stored = searcher.stored_fields(docnum)
        text = " ".join(stored.get(name) or "" for name in (schema.TITLE, schema.BODY))
        hits = searcher.more_like(docnum, schema.BODY, text=text, top=limit, numterms=15)
        return [ArticleSummary.of(schema.stored_article(hit.fields()), hit.score) for hit in hits]

    def complete(self, text: str, limit: int = 5) -> dict[str, Any]:
        """Autocomplete ``text``: people, topics and title words (see search.suggest).

        Raises:
            InvalidRequest: the text is empty or too long.
        """
        if not text.strip() or len(text) > suggest.MAX_PREFIX or "\x00" in text:
            raise InvalidRequest(f"q must be 1 to {suggest.MAX_PREFIX} characters of text")
        snapshot = self._snapshot()
        with self._lock:
            cached = self._vocabulary
        # Built once per version of the index, as its document sets are.
        if cached is None or cached[0] is not snapshot.sets:
            reader, lexicon = snapshot.searcher.reader(), snapshot.sets.lexicon
            cached = (snapshot.sets, suggest.build_vocabulary(reader, lexicon.counts))
            with self._lock:
                self._vocabulary = cached
        return suggest.suggestions(cached[1], text, limit)

    @staticmethod
    def _hit(
        searcher, docnum: int, score: float | None, terms, explain: dict[str, Any] | None
    ) -> Hit:
        """One result: the stored article, its score and its highlighted title and snippet."""
        article = schema.stored_article(searcher.stored_fields(docnum))
        snippet = _highlight(
            article.body,
            terms.get(schema.BODY, ()),
            highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=90),
            top=2,
        )
        title = _highlight(
            article.title, terms.get(schema.TITLE, ()), highlight.WholeFragmenter(), minscore=0
        )
        return Hit(
            **vars(ArticleSummary.of(article, score)),
            title_html=title or html.escape(article.title),
            snippet=snippet or _escaped_start(article.body),
            explain=explain,
        )

    def _suggest(self, request: SearchRequest, snapshot: _Snapshot, total: int) -> str | None:
        """A respelling of the query when its words are rare and a near spelling finds more."""
        corrected = request.q
        for match in reversed(list(_PLAIN_WORD.finditer(request.q))):
            better = snapshot.respell(match.group(0))
            if better:
                corrected = corrected[: match.start()] + better + corrected[match.end() :]
        if corrected == request.q:
            return None
        try:
            parsed, _ = self._parse(corrected, snapshot)
        except InvalidRequest:
            return None
        found = self._matches(request, snapshot, parsed).bit_count()
        return corrected if found >= max(2 * total, total + 3) else None

    def article(self, article_id: str) -> Article | None:
        """Return the indexed article with this id, or None."""
        stored = self._searcher().document(**{schema.ID: article_id})
        return schema.stored_article(stored) if stored else None

    def health(self) -> dict[str, Any]:
        """Return the live generation, its document count and its age."""
        searcher = self._searcher()
        generation = self._generation
        # An ingest replaces the table of contents: one listed here may be gone when asked.
        tocs = (_mtime(p) for p in generation.path.iterdir() if p.suffix == ".toc")
        modified = max(filter(None, tocs), default=generation.path.stat().st_mtime)
        return {
            "status": "ok",
            "generation": generation.name,
            "documents": searcher.doc_count(),
            "index_age_seconds": round(time.time() - modified, 1),
        }


def _mtime(path: Path) -> float | None:
    """When a file was last modified; None when it is gone."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def _filter_query(request: SearchRequest) -> query.Query | None:
    parts: list[query.Query] = []
    for name, fieldname in schema.FILTER_FIELDS.items():
        parts += [query.Term(fieldname, value) for value in getattr(request, name)]
    if request.date_from or request.date_to:
        start = datetime.combine(request.date_from, dtime.min) if request.date_from else None
        end = datetime.combine(request.date_to, dtime.max) if request.date_to else None
        parts.append(query.DateRange(schema.PUBLISHED, start, end))
    return query.And(parts) if parts else None


class _Word:
    """A word of a text as Whoosh's fragmenters and formatters read a token: its text, its
    character span, whether the query matched it and its boost. Lighter than Whoosh's Token,
    and one per word, so that copying it is not needed."""

    __slots__ = ("text", "startchar", "endchar", "matched")
    boost = 1.0

    def __init__(self, text: str, startchar: int, endchar: int, matched: bool):
        self.text, self.startchar, self.endchar, self.matched = text, startchar, endchar, matched

    def copy(self) -> _Word:
        return self


def _marked_tokens(text: str, terms) -> Iterator[_Word]:
    """The words of ``text`` with their character spans, those of ``terms`` marked.

    One regular-expression pass with the indexer's memo of token forms: the same tokens the
    index analyzer makes, without running its filter chain over every word of every hit.
    """
    for match in schema.TOKEN_PATTERN.finditer(text):
        word = match.group()
        yield _Word(word, match.start(), match.end(), schema.indexed_form(word) in terms)


def _context_fragments(
    text: str, terms, fragmenter: highlight.ContextFragmenter
) -> list[highlight.Fragment]:
    """The fragments ``fragmenter.fragment_tokens`` makes of ``text`` with ``terms`` marked,
    reading only the words near marked ones instead of every word of the text.

    Whoosh's loop, step for step (tests/test_analysis.py compares the two on random texts):
    outside a fragment, unmarked words only keep a queue of the starts of the words within
    ``surround`` characters, so it jumps to the next marked word (:class:`_MarkedWords`) and
    reads back from there for the context before it (:func:`_context_start`); in a fragment,
    it reads on word by word until the fragment closes.
    """
    if not terms:
        return []  # no marked word: no fragment
    maxchars, surround, limit = fragmenter.maxchars, fragmenter.surround, fragmenter.charlimit
    found = _MarkedWords(text, terms, limit)
    fragments: list[highlight.Fragment] = []
    tokens: list[_Word] = []
    countdown, first, length = -1, None, 0
    reset = position = end = 0  # words before `reset` are past the last fragment
    marked = found.next_marked(0)
    while True:
        if countdown >= 0:  # in a fragment: the unmarked words before the next marked one
            for word in schema.TOKEN_PATTERN.finditer(
                text, position, marked.start() if marked else len(text)
            ):
                start, end = word.span()
                if limit and end > limit:
                    break
                size = end - start
                closes = length + size > maxchars
                countdown = -size if closes else countdown - size
                length += size
                if countdown <= 0:
                    break
            else:
                start = None  # read up to the marked word without closing the fragment
            if limit and end > limit:
                break
            if start is not None:  # the fragment closed at this word
                fragments.append(highlight.mkfrag(text, tokens, startchar=first, endchar=end))
                tokens, first, length, reset = [], None, 0, end
                position = end
                continue
            queued = None  # (the queue was emptied when the fragment opened)
        # (Whoosh stops at the first word ending past the limit: before this marked word,
        # outside a fragment, that would change nothing.)
        if marked is None:
            break
        if limit and marked.end() > limit:
            end = marked.end()  # (the end of a fragment left open)
            break
        start, end = marked.span()
        if countdown < 0:
            queued = _context_start(text, reset, start, surround)
        size = end - start
        if length + size > maxchars:
            countdown = 0
        else:
            countdown = surround
            if first is None:
                if queued is not None:
                    first = queued
                else:
                    first = start
                    countdown += surround
            tokens.append(_Word(marked.group(), start, end, True))
        length, countdown = length + size, countdown - size
        if countdown <= 0:
            fragments.append(highlight.mkfrag(text, tokens, startchar=first, endchar=end))
            tokens, first, length, reset = [], None, 0, end
        position = end
        marked = found.next_marked(end)
    if tokens:
        fragments.append(highlight.mkfrag(text, tokens, startchar=first, endchar=end))
    return fragments


# Reading a text from the middle: no word holds whitespace, so the words found from a space on
# are the text's own (as from the end of a word); TOKEN_PATTERN looks neither back nor past the
# characters it takes.


def _context_start(text: str, reset: int, start: int, surround: int) -> int | None:
    """The start of the first word Whoosh's fragmenter queues before the marked word at
    ``start``: the words since ``reset`` that start at most ``surround`` characters before
    the end of the word before it (None when there is none)."""
    back = max(surround, 1)
    while True:
        space = text.rfind(" ", reset, max(reset, start - back) + 1)
        begin = max(space, reset)
        words = [m.span() for m in schema.TOKEN_PATTERN.finditer(text, begin, start)]
        if words:
            edge = words[-1][1] - surround
            if begin <= max(edge, reset):  # read far enough back
                return next((s for s, _ in words if s >= edge), None)
        elif begin == reset:
            return None
        back *= 2


class _MarkedWords:
    """Finds the words of ``text`` whose indexed form is in ``terms`` without tokenising the
    rest: a search of the folded text for the start of each stem (:func:`_word_starts`) finds
    every marked word, and some other places, which the tokeniser then checks. Only words
    that end within ``limit`` characters, if given, are looked for."""

    def __init__(self, text: str, terms, limit: int | None = None):
        self.text, self.terms = text, terms
        head = text[:limit] if limit else text
        folded = _folded(head)
        if folded is None:  # every word is a candidate
            self.folded, self.starts = head, schema.TOKEN_PATTERN
        else:
            self.folded, self.starts = folded, _word_starts(frozenset(terms))

    def next_marked(self, position: int) -> re.Match | None:
        """The first marked word at or after ``position`` (a space, a word's end or 0)."""
        text, folded, starts = self.text, self.folded, self.starts
        while (candidate := starts.search(folded, position)) is not None:
            at = candidate.start()
            word = schema.TOKEN_PATTERN.search(text, max(text.rfind(" ", position, at), position))
            while word is not None and word.end() <= at:
                word = schema.TOKEN_PATTERN.search(text, word.end())
            if word is None:
                return None
            if word.start() == at and schema.indexed_form(word.group()) in self.terms:
                return word
            # On past this word; or, when the candidate was in no word, on to its start (the
            # accent map makes some combining marks letters).
            position = word.end() if word.start() <= at else word.start()
        return None

    def __iter__(self) -> Iterator[_Word]:
        """The marked words, in order."""
        word = self.next_marked(0)
        while word is not None and word.end() <= len(self.folded):
            yield _Word(word.group(), word.start(), word.end(), True)
            word = self.next_marked(word.end())


# What lower() and Whoosh's accent map make of each character (schema.fold's steps, one
# character at a time), with the curly apostrophe straightened as fold does and the two
# small sigmas made one (lower() picks one by context, word by word or text by text).
_FOLDED_CHARS = {**accent_map, ord("\u2019"): "'", ord("\u03c2"): "\u03c3"}
_SIGMAS = str.maketrans("\u03c2", "\u03c3")


def _folded(text: str) -> str | None:
    """``text`` with each character folded as :func:`schema.fold` folds words, but for "İ",
    which lowercases to "i" and a combining dot: to "i" alone (the same length, so positions
    carry over). None if some other character's lowercase is longer."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = text.replace("\u0130", "I").lower()
        if len(lowered) != len(text):
            return None
    return lowered if lowered.isascii() else lowered.translate(_FOLDED_CHARS)


@lru_cache(maxsize=256)
def _word_starts(terms: frozenset[str]) -> re.Pattern:
    """Where in a :func:`_folded` text a word whose indexed form is in ``terms`` may start.

    English stemming rewrites only endings: a word starts with all of its stem but the stem's
    last two letters (at least two letters; at most 16 are looked for), checked on 1.2 million
    made-up words and every word of the shared corpora; "dying" -> "die" is the exception.
    """
    heads = set()
    for term in terms:
        # (A folded text has "i" for "İ", where a word's folded form has "i" and a dot.)
        head = term.translate(_SIGMAS)[: min(16, max(2, len(term) - 2))].split("\u0307")[0]
        if head:
            heads |= {head, ".".join(head)}  # "U.S." folds to "us"
            if len(term) == 3 and term.endswith("ie"):
                heads.add(head[0] + "y")  # "dying", "vying" stem to "die", "vie"
    return re.compile(_prefix_tree(sorted(heads)) if heads else "(?!)")


def _prefix_tree(heads: list[str]) -> str:
    """A regular expression matching where any of the (sorted, not empty) ``heads`` starts,
    as a tree of their shared beginnings, which Python's regular expressions search much
    faster than a long alternation (and a head that starts another makes the longer one
    needless)."""
    branches = []
    for first, group in groupby(heads, key=lambda head: head[0]):
        rests = [head[1:] for head in group]
        branches.append(re.escape(first) + ("" if "" in rests else _prefix_tree(rests)))
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _highlight(text: str, terms, fragmenter, top: int = 1, minscore: int = 1) -> str:
    """``text`` escaped, its best fragments chosen and the words of ``terms`` in <mark>."""
    if not terms and minscore:
        return ""
    if type(fragmenter) is highlight.ContextFragmenter:  # (not a subclass with its own rules)
        fragments = _context_fragments(text, terms, fragmenter)
    elif type(fragmenter) is highlight.WholeFragmenter:
        limit = fragmenter.charlimit
        fragments = [highlight.Fragment(text, list(_MarkedWords(text, terms, limit)))]
    else:
        fragments = fragmenter.fragment_tokens(text, _marked_tokens(text, terms))
    chosen = highlight.top_fragments(
        fragments, top, highlight.BasicFragmentScorer(), highlight.FIRST, minscore
    )
    return MarkFormatter().format(chosen)


def _highlight_terms(parsed: query.Query, reader) -> dict[str, set[str]]:
    """The indexed words of the query by field (wildcards expanded), for highlighting."""
    terms: dict[str, set[str]] = {}
    # Leaf by leaf: Query.existing_terms() skips every field after the first one it meets.
    for leaf in parsed.leaves():
        for fieldname, text in leaf.expanded_terms(reader, phrases=True):
            if fieldname not in schema.SEARCH_FIELDS:
                continue  # `date:now` is a term of encoded ticks, not of words to mark
            word = text.decode("utf-8") if isinstance(text, bytes) else text
            terms.setdefault(fieldname, set()).add(word)
    return terms
