"""The ranking: BM25 over the index's fields, pseudo-relevance feedback, recency, explanations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from math import log, log2
from typing import Any, NamedTuple

import numpy as np
from whoosh import query, scoring, sorting
from whoosh.util.times import datetime_to_long

from search import settings
from search.engine import schema


class NewsBM25F(scoring.BM25F):
    """Whoosh's BM25F with the Robertson-Sparck Jones idf of standard BM25, shared by fields.

    Whoosh's own idf, log(N / (n + 1)) + 1, is nearly flat: a word in half the documents
    keeps half the weight of a word in one. Standard BM25 gives common words far less.
    """

    def idf(self, searcher, fieldname, text):
        parent = searcher.get_parent()
        # Kept on the searcher of the index version they describe (a word's scorer is made
        # once per field, and each asks the same four frequencies).
        known = parent.__dict__.setdefault("_news_idf", {})
        key = idf_key(fieldname, text)
        if key not in known:
            known[key] = news_idf(parent.doc_frequency, parent.doc_count_all(), fieldname, text)
        return known[key]


def idf_key(fieldname: str, text: str) -> tuple[str, str]:
    """What a word's idf depends on: the word and the fields whose frequencies count."""
    return (schema.SEARCH_FIELDS[0] if fieldname in schema.SEARCH_FIELDS else fieldname, text)


def news_idf(doc_frequency: Callable[[str, str], int], total: int, fieldname: str, text: str):
    """The Robertson-Sparck Jones idf of a word in a field, from ``doc_frequency(field, word)``
    and the index's ``total`` of documents.

    One idf per word across the searched fields, as in BM25F: a word rare in titles but common
    in bodies is a common word, not a precious one. The largest field frequency stands in for
    the document frequency.
    """
    fields = schema.SEARCH_FIELDS if fieldname in schema.SEARCH_FIELDS else (fieldname,)
    n = max(doc_frequency(name, text) for name in fields)
    return log(1 + (total - n + 0.5) / (n + 0.5))


# Pseudo-relevance feedback learns from a query's FEEDBACK_DOCS best matches, each counting in
# proportion to its score, the FEEDBACK_TERMS words most typical of them (Bo1 model) that at
# least FEEDBACK_MIN_DOCS of them hold (a word that only one match holds is that match's topic,
# not the query's). RM3's defaults for the counts (10 and 10).
FEEDBACK_DOCS = 10
FEEDBACK_TERMS = 10
FEEDBACK_MIN_DOCS = 2
# Where the added words are searched: the text they were learnt from.
FEEDBACK_FIELDS = (schema.TITLE, schema.BODY)


@dataclass(frozen=True)
class Ranking:
    """The ranking's settings; the defaults are the shipped ones.

    Checked by leaving one test collection out (``python -m bench.relevance_tuning``, the
    table in bench/README.md): on each of Cranfield, CISI, MED and NPL, the defaults score at
    least as well as the setting that the other three collections choose.
    """

    # BM25's term-frequency saturation and length normalisation: the textbook values (those
    # of Lucene, Elasticsearch and OpenSearch too).
    k1: float = 1.2
    b: float = 0.75
    # The share of the query that pseudo-relevance feedback's words weigh, interpolated with
    # the reader's own words as in RM3 (0: no feedback). .5 scored .003 more on the four
    # collections (every one within .007); .3 keeps the reader's words weightier, for the
    # collections where feedback drifts (news: copies and follow-ups of one story).
    # An operator may trade it for speed (the setting FEEDBACK).
    feedback: float = settings.default("FEEDBACK")

    @classmethod
    def from_settings(cls, setting: Callable[[str], Any] = settings.from_env) -> Ranking:
        """The shipped ranking with the operator's FEEDBACK (``setting`` reads one by name:
        by default from the environment, or from a web app's config).

        Raises:
            ValueError: FEEDBACK is not a number from 0 to below 1.
        """
        share = setting("FEEDBACK")
        try:
            feedback = float(share)
        except (TypeError, ValueError):
            feedback = -1.0
        if not 0 <= feedback < 1:
            raise ValueError(f"SEARCH_FEEDBACK must be a number from 0 to below 1, not {share!r}")
        return cls(feedback=feedback)

    def weighting(self) -> scoring.WeightingModel:
        """The weighting model searches rank by."""
        return NewsBM25F(B=self.b, K1=self.k1)


# A word's part in a query's score: (field, word, boost, gates), the gates being the parts of
# the query that must match a document for the word to count there.
ScoredWord = tuple[str, str, float, tuple[query.Query, ...]]


def summed_terms(
    q: query.Query, boost: float = 1.0, gates: tuple[query.Query, ...] = ()
) -> list[ScoredWord] | None:
    """The words whose scores add up to ``q``'s score of every document it matches.

    None when ``q`` scores otherwise (ranges, prefixes, fuzzy words, a DisjunctionMax).
    Mirrors Whoosh's matchers: a union or an intersection adds its parts' scores and applies
    its boost (not when it has a single part, which Whoosh returns bare), AndMaybe adds its
    optional part's where that matches, AndNot and Require keep their first part's, a phrase
    scores as the intersection of its words. A part of an OR that is not a word or an OR
    itself (a phrase, an AND) adds its words only where it matches as a whole: it becomes a
    gate of its words.
    """
    kind = type(q)
    if kind is query.Term:
        return [(q.fieldname, q.text, boost * q.boost, gates)] if isinstance(q.text, str) else None
    if kind is query.Phrase:
        return [(q.fieldname, word, boost * q.boost, gates) for word in q.words]
    if kind is query.Or and not (q.minmatch or q.scale):
        gated = len(q.subqueries) > 1
        parts = [(sub, gates + (sub,) if gated and _gated(sub) else gates) for sub in q.subqueries]
    elif kind is query.And:
        parts = [(sub, gates) for sub in q.subqueries]
    elif kind is query.AndMaybe:
        parts = [(q.a, gates), (q.b, gates + (q.b,) if _gated(q.b) else gates)]
    elif kind in (query.AndNot, query.Require):
        parts = [(q.a, gates)]
    else:
        return None
    if kind in (query.Or, query.And) and len(q.subqueries) > 1:
        boost *= q.boost
    terms: list[ScoredWord] = []
    for part, part_gates in parts:
        found = summed_terms(part, boost, part_gates)
        if found is None:
            return None
        terms += found
    return terms


def _gated(part: query.Query) -> bool:
    """Whether an optional part adds its words' scores only where it matches as a whole (a
    word's score is 0 where it is absent, and an OR adds whichever of its parts match)."""
    return type(part) not in (query.Term, query.Or)


def query_words(q: query.Query) -> set[str]:
    """The words of the searched fields that a query names."""
    return {text for fieldname, text in q.iter_all_terms() if fieldname in schema.SEARCH_FIELDS}


def searched_parts(q: query.Query) -> list[query.Query]:
    """The parts of a query that search the searched fields for what a reader wants (words,
    phrases, wildcards, fuzzy words), not what it excludes."""
    if isinstance(q, query.Not):
        return []
    if isinstance(q, query.AndNot):
        return searched_parts(q.a)
    if q.is_leaf():
        return [q] if getattr(q, "fieldname", None) in schema.SEARCH_FIELDS else []
    return [part for child in q.children() for part in searched_parts(child)]


# Two matches whose words overlap this much (Jaccard) are copies of one story.
NEAR_COPY = 0.8


def _near_copy(words: set[str], other: set[str]) -> bool:
    """Whether two matches' sets of words make them copies of one story."""
    union = len(words | other)
    return not union or len(words & other) / union >= NEAR_COPY


def with_feedback(
    searcher,
    q: query.Query,
    best: Callable[[query.Query, int], list[tuple[int, float]]],
    share: float,
    frequency: Callable[[str], int] | None = None,
) -> query.Query:
    """Return ``q`` rescored by pseudo-relevance feedback, the expansion weighing ``share`` of
    the whole query (``q`` itself when ``share`` is 0 or ``q`` names no searched word).

    ``best(q, n)`` gives the document numbers and scores of the ``n`` best matches of ``q``
    that the feedback may learn from (within the request's filters), best first;
    ``frequency(word)`` a word's count in the bodies of the whole index (the reader's, by
    default). The expansion only reorders what ``q`` matches (AndMaybe): totals and facets
    stay those of the reader's own words.
    """
    # (Each of the reader's words counts once, whatever fields it is searched in.)
    words = len({part.text for part in searched_parts(q) if isinstance(part, query.Term)})
    if not 0 < share < 1 or not words:
        return q
    top = best(q, FEEDBACK_DOCS)
    if not top or top[0][1] <= 0:
        return q
    reader = searcher.reader()
    frequency = frequency or (lambda word: reader.frequency(schema.BODY, word))
    in_top: Counter[str] = Counter()  # word -> its count in the matches, by their scores
    holders: Counter[str] = Counter()  # word -> how many of the matches hold it
    seen: list[set[str]] = []  # the words of each match learnt from
    for docnum, score in top:
        stored = searcher.stored_fields(docnum)
        text = " ".join(stored.get(name) or "" for name in (schema.TITLE, schema.BODY))
        part = score / top[0][1]
        counts = schema.term_counts(text)
        held = set(counts)
        if part <= 0 or any(_near_copy(held, other) for other in seen):
            continue  # (a copy of a story, say from another wire, is no second opinion)
        seen.append(held)
        holders.update(held)
        for word, count in counts.items():
            in_top[word] += count * part
    # Bo1 (Amati's Bose-Einstein model, as Terrier and Whoosh compute it) ranks the words that
    # enough matches hold by how much more often the matches use them than the index does.
    documents = reader.doc_count_all()
    ranked = []
    for word, weight in in_top.items():
        if holders[word] >= FEEDBACK_MIN_DOCS and (count := frequency(word)):
            rate = count / documents
            ranked.append((weight * log2((1 + rate) / rate) + log2(1 + rate), word))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    chosen = ranked[:FEEDBACK_TERMS]
    total = sum(weight for weight, _ in chosen)
    if not total:
        return q
    # Each of the reader's words weighs 1; the expansion's words together share / (1 - share)
    # times as much as all of them.
    scale = share / (1 - share) * words / total
    expansion = [
        query.Term(fieldname, word, boost=scale * weight)
        for weight, word in chosen
        for fieldname in FEEDBACK_FIELDS
    ]
    return query.AndMaybe(q, query.Or(expansion))


# "Prefer recent": a score is multiplied by (1 - recency) + recency * 0.5 ** (age / half-life),
# the age counted from the newest article in the index (an archive's "now").
RECENCY_HALF_LIFE_DAYS = 30.0
_TICKS_PER_DAY = 86400 * 10**6  # Whoosh stores a datetime as microseconds since year 1


def datetime_ticks(value) -> int:
    """A stored (naive UTC) datetime in Whoosh's ticks, as its date column holds it."""
    return datetime_to_long(value)


def column_ticks(value) -> int:
    """A date column's value in ticks; an undated article's default reads as 0."""
    if isinstance(value, datetime):
        return datetime_to_long(value)
    return int(value or 0)


def recency_factors(ticks: np.ndarray, newest: int, recency: float) -> np.ndarray:
    """The multipliers that blend publication dates (an array of ticks, int64, 0 when
    undated) into scores."""
    if not newest:
        return np.full(len(ticks), 1.0 - recency)
    age_days = np.maximum(0.0, (newest - ticks) / _TICKS_PER_DAY)
    factors = (1.0 - recency) + recency * 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
    return np.where(ticks == 0, 1.0 - recency, factors)


class RecencyBlend(sorting.FacetType):
    """Orders matches by their score blended with their recency (best first), given every
    document's multiplier (:func:`recency_factors`, as the index numbers documents)."""

    def __init__(self, factors: np.ndarray):
        self.factors = factors

    def categorizer(self, global_searcher):
        return _RecencyCategorizer(self.factors)


class _RecencyCategorizer(sorting.Categorizer):
    needs_current = True

    def __init__(self, factors: np.ndarray):
        self.factors = factors
        self.offset = 0

    def set_searcher(self, segment_searcher, docoffset):
        self.offset = docoffset

    def key_for(self, matcher, docid):
        # Negated so that the best sorts first.
        return -matcher.score() * float(self.factors[self.offset + docid])


def weighted_terms(q: query.Query, boost: float = 1.0):
    """(field, word, boost) of every scoring word of a query (not those it excludes)."""
    if isinstance(q, query.Term):
        yield q.fieldname, q.text, boost * q.boost
    elif isinstance(q, query.Not):
        return
    elif isinstance(q, query.AndNot):
        yield from weighted_terms(q.a, boost * q.boost)
    elif not q.is_leaf():
        for sub in q.children():
            yield from weighted_terms(sub, boost * q.boost)


def explain(searcher, q: query.Query, docnum: int, words: set[str]) -> dict:
    """How much each field and each word gave a document's score under query ``q``.

    Words not in ``words`` (the reader's own) came from pseudo-relevance feedback.
    Phrases, wildcards and fuzzy words count under "other" (only single words are itemised).
    """
    terms = []
    for fieldname, text, boost in weighted_terms(q):
        matcher = query.Term(fieldname, text).matcher(searcher)
        if matcher.is_active():
            matcher.skip_to(docnum)
            if matcher.is_active() and matcher.id() == docnum:
                score = matcher.score() * boost
                terms.append(
                    {
                        "field": fieldname,
                        "term": text,
                        "score": round(score, 4),
                        "feedback": text not in words,
                    }
                )
    terms.sort(key=lambda t: -t["score"])
    fields: dict[str, float] = {}
    for term in terms:
        fields[term["field"]] = round(fields.get(term["field"], 0.0) + term["score"], 4)
    return {"fields": fields, "terms": terms}


class FieldFigures(NamedTuple):
    """What BM25 needs of a field besides a word's idf: its mean length, b and k1."""

    avgfl: float
    b: float
    k1: float


def bm25_figures(searcher, fieldname: str) -> FieldFigures | None:
    """The figures of a field that the searcher's BM25 scores words with, as Whoosh's
    BM25FScorer takes them; None when it ranks by another model or the field is not scored
    (then Whoosh's scorer scores posting by posting)."""
    weighting = searcher.weighting
    if type(weighting).scorer is not scoring.BM25F.scorer:
        return None
    if not searcher.schema[fieldname].scorable:
        return None
    parent = searcher.get_parent()
    b = weighting._field_B.get(fieldname, weighting.B)
    return FieldFigures(parent.avg_field_length(fieldname) or 1, b, weighting.K1)


def bm25_scores(idf: float, figures: FieldFigures, weights: np.ndarray, lengths: np.ndarray):
    """What Whoosh's BM25FScorer gives postings of these weights in documents of these field
    lengths: its arithmetic, in its order, over arrays."""
    k1, b, avgfl = figures.k1, figures.b, figures.avgfl
    return idf * ((weights * (k1 + 1)) / (weights + k1 * ((1 - b) + b * lengths / avgfl)))


def explain_hit(
    view,
    scored: query.Query,
    docnum: int,
    score: float | None,
    request,
    parsed: query.Query,
) -> dict[str, Any]:
    """Why a hit ranked: its score by field and word, and the recency factor applied."""
    searcher = view.searcher
    detail = explain(searcher, scored, docnum, query_words(parsed))
    factor, score = 1.0, score or 0.0
    if request.recency and request.sort != "newest":
        newest = view.newest_ticks()
        factors = view.sets.columns.recency_factors(searcher.reader(), request.recency, newest)
        factor = float(factors[docnum])
        score = score / factor if factor else 0.0  # the blended score, back to relevance
    # What single words do not account for: phrases, wildcards, fuzzy words.
    other = score - sum(detail["fields"].values())
    return {
        **detail,
        "other": round(other, 4) if other > 1e-3 else 0.0,
        "recency_factor": round(factor, 4),
    }
