"""One version of the index as a thread reads it: which documents a query matches, the best
of them by score, and the figures the response needs (facets, newest, respellings).

An :class:`IndexView` pairs a thread's Whoosh searcher and parser with the version's cached
document sets (search.engine.docsets) and respellings (search.engine.spelling), which the
process's threads share.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
from whoosh import collectors, qparser, query

from search.engine import schema, scoring, topk
from search.engine.bitsets import docnums, mask
from search.engine.docsets import DocSets
from search.engine.results import FacetCount, Timeline
from search.engine.spelling import Speller
from search.names import NameTable, TableLoader


@dataclass
class IndexView:
    """A thread's Whoosh searcher and parser over one version of the index, with that
    version's cached document sets and respellings (shared by the process's threads)."""

    searcher: Any
    parser: qparser.QueryParser
    sets: DocSets
    speller: Speller
    # The canonical people and topics (search.names), read when a filter first needs them.
    names: TableLoader | None = None
    version: str = ""  # names this version of the index: its generation and Whoosh's own number
    _last_summed: tuple[query.Query, np.ndarray] | None = None
    _last_top: tuple | None = None  # ((query, recency), documents ranked, best, complete)

    def name_table(self) -> NameTable | None:
        """The version's canonical names; None for a generation written without them."""
        return self.names.table() if self.names else None

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
            terms = _or_of_terms(q)
            if terms is not None:
                return self.sets.union(self.searcher.reader(), terms)
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
        from each word's scores, the same figures Whoosh's matchers give, only for the matches
        that can reach the top when the index is large (search.engine.topk); anything else
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
                factors = self.sets.columns.recency_factors(self.searcher.reader(), *recency)
                ranked = collectors.SortingCollector(scoring.RecencyBlend(factors), limit=limit)
            else:
                ranked = collectors.TopCollector(limit, usequality=False, replace=0)
            found = ranked
            if filtered:  # (a filter costs Whoosh a check per match: only when it narrows)
                found = collectors.FilterCollector(ranked, set(docnums(matched)))
            self.searcher.search_with_collector(q, found)
            # top_n rather than len() or iteration, which would count every match. A blend's
            # sort key is the negated blended score.
            sign = -1 if recency else 1
            return [(docnum, sign * key) for key, docnum in found.results().top_n]
        docs = self.sets.docnums(matched)
        optional = _optional_words(q, words)
        if optional and not recency:
            # (feedback's words only reorder: all the words pruned at once, seeded with the
            # best by the reader's own; else the best by the reader's, then feedback's added)
            required = words[: -len(optional)]
            scored = self._words(words)
            if scored is not None:
                # (the best by the reader's words: feedback's first pass found them)
                first = self._top(q.a, required, docs, scoring.FEEDBACK_DOCS, scored=scored)
                likely = np.array([d for d, _ in first], dtype=np.int64)
                found = topk.pruned_best(scored, docs, limit, likely=likely)
                if found is not None:
                    return found
            base = self._summed(q.a, required)[docs]
            scored = [(*self.sets.term_scores(self.searcher, f, t), b) for f, t, b, _ in optional]
            return topk.best_with_optional(docs, base, scored, limit)
        return self._top(q, words, docs, limit, recency)

    def _top(self, q, words, docs: np.ndarray, limit: int, recency=None, scored=None) -> list:
        """The ``limit`` best of ``docs`` by ``q`` (its ``words``), blended with dates by
        ``recency``: only the matches that can reach them scored (search.engine.topk), when
        that saves work; the latest kept (feedback asks for the best of a query twice).
        ``scored``: the words as :meth:`_words` makes them (the first of them, if more)."""
        key = (q, recency)
        last = self._last_top
        fits = last is not None and (len(last[2]) >= limit or last[3])
        if fits and last[0] == key and last[1] is docs:
            return last[2][:limit]
        found = None
        scored = self._words(words) if scored is None else scored[: len(words)]
        if scored is not None:
            factors = None
            if recency:
                factors = self.sets.columns.recency_factors(self.searcher.reader(), *recency)
            found = topk.pruned_best(scored, docs, limit, factors)
        if found is None:
            found = topk.best(docs, self._scores(q, words, docs, recency), limit)
        self._last_top = (key, docs, found, len(found) < limit)
        return found

    def _words(self, words) -> list[topk.Word] | None:
        """The query's words for search.engine.topk (scored only where asked), each counted
        only where its gates match; None when one is not ranked by BM25, or when the index
        is small enough that scoring every match costs less (topk.PRUNE_FROM)."""
        if self.sets.size < topk.PRUNE_FROM:
            return None
        scored = []
        masks: dict[tuple[query.Query, ...], np.ndarray] = {}
        for fieldname, text, boost, gates in words:
            word = self.sets.word(self.searcher, fieldname, text, boost)
            if word is None:
                return None
            if gates:
                word = word.within(self._gate(gates, masks)[word.docs])
            scored.append(word)
        return scored

    def scored_all(
        self,
        q: query.Query,
        matched: int,
        filtered: bool = False,
        recency: tuple[float, int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every document of ``matched`` and its score by ``q``, the figures :meth:`best`
        ranks by (in no particular order): for an export or a page after a cursor."""
        if not matched:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        words = scoring.summed_terms(q)
        if words is None:  # (Whoosh scores them: all of them, by its own collector)
            ranked = self.best(q, matched, matched.bit_count(), filtered, recency)
            docs = np.fromiter((d for d, _ in ranked), dtype=np.int64, count=len(ranked))
            return docs, np.fromiter((s for _, s in ranked), dtype=float, count=len(ranked))
        docs = self.sets.docnums(matched)
        # (the feedback's words added after the reader's, in order: the sums best_with_optional
        # makes)
        return docs, self._scores(q, words, docs, recency)

    def _scores(
        self, q: query.Query, words: list[scoring.ScoredWord], docs: np.ndarray, recency
    ) -> np.ndarray:
        """The scores of ``docs`` by ``q`` (its ``words`` summed), blended with their dates
        when ``recency`` (the reader's weight, the newest date in ticks) is given."""
        values = self._summed(q, words)[docs]
        if recency:
            factors = self.sets.columns.recency_factors(self.searcher.reader(), *recency)
            values = values * factors[docs]
        return values

    def _summed(self, q: query.Query, words: list[scoring.ScoredWord]) -> np.ndarray:
        """Every document's score by ``q`` (0 where it does not match), its words' scores
        summed in order (the latest kept: feedback scores a query, then its expansion)."""
        if self._last_summed is not None and self._last_summed[0] == q:
            return self._last_summed[1]
        size = self.sets.size
        scores = np.zeros(size)
        masks: dict[tuple[query.Query, ...], np.ndarray] = {}
        for fieldname, text, boost, gates in words:
            docs, values = self.sets.term_scores(self.searcher, fieldname, text)
            if gates:
                keep = self._gate(gates, masks)[docs]
                docs, values = docs[keep], values[keep]
            scores[docs] += values * boost
        self._last_summed = (q, scores)
        return scores

    def _gate(self, gates: tuple[query.Query, ...], masks: dict) -> np.ndarray:
        """Where every one of ``gates`` matches, as an array of booleans (kept in ``masks``)."""
        if gates not in masks:
            gate = reduce(operator.and_, (self.docs(g) for g in gates), self.sets.all)
            masks[gates] = mask(gate, self.sets.size)
        return masks[gates]

    def facets(self, matched: int) -> dict[str, list[FacetCount]]:
        """The top values of each facet over ``matched``."""
        return self.sets.facets(self.searcher.reader(), matched)

    def timeline(self, matched: int, unit: str | None) -> Timeline:
        """``matched`` over time, by ``unit`` or one that fits (search.engine.timeline)."""
        days = self.sets.columns.publication_days(self.searcher.reader())
        return days.timeline(matched, self.sets.all, unit)

    def newest(self, matched: int, count: int) -> list[int]:
        """The ``count`` newest documents of ``matched``."""
        return self.sets.columns.newest(self.searcher.reader(), matched, count)

    def respell(self, word: str) -> str | None:
        """A common near spelling of a rare word, or None."""
        reader = self.searcher.reader()

        def frequency(stem: str) -> int:  # (from the flat arrays)
            return self.sets.frequencies(reader, schema.BODY, stem)[0]

        return self.speller.respell(self.searcher, word, frequency)

    def newest_ticks(self) -> int:
        """The newest publication date of the index, in Whoosh's ticks."""
        return self.sets.columns.newest_ticks(self.searcher.reader())


def _or_of_terms(q: query.Query) -> list[tuple[str, str]] | None:
    """The (field, word) of every word of an OR of words (ORs of words within it too); None
    for an OR of anything else."""
    if type(q) is query.Term:
        return [(q.fieldname, q.text)] if isinstance(q.text, str) else None
    if type(q) not in (query.Or, query.DisjunctionMax):
        return None
    found = []
    for sub in q.subqueries:
        terms = _or_of_terms(sub)
        if terms is None:
            return None
        found += terms
    return found


def _optional_words(q: query.Query, words: list[scoring.ScoredWord]) -> list:
    """The words of ``q``'s optional part when ``q`` is a query with words that only add to
    its matches' scores (AndMaybe: feedback's expansion), each boosted up and never gated;
    else an empty list."""
    if type(q) is not query.AndMaybe:
        return []
    required = scoring.summed_terms(q.a)
    optional = words[len(required) :] if required is not None else []
    if all(boost > 0 and not gates for _, _, boost, gates in optional):
        return optional
    return []
