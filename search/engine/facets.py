"""Facet counts: every value of every facet, counted over any set of documents at once.

Each document's values come from the flat arrays of its segment (search.engine.postings), or
from Whoosh's postings of each value for a segment without them. Counting is one
``numpy.bincount`` over the values of the documents asked about (or of the rest of the
index, when that is fewer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from search.engine import schema
from search.engine.postings import SegmentPostings, by_document, joined, read_matcher, runs
from search.engine.results import FacetCount

FACET_SIZE = 10


class Facets:
    """Every facet value (one list for all facets, each facet's a range of it, in lexicon
    order) and each document's values, for counting them over any set of documents at once."""

    def __init__(self, index_parts: list[tuple[Any, int, SegmentPostings | None]], alive):
        """``index_parts``: (segment reader, first document number, its flat arrays or None)
        of each part of the index, in order; ``alive``: the live documents, in order."""
        parts = []  # each part's (labels, starts, codes), its labels (field, value) pairs
        for segment, _, arrays in index_parts:
            if arrays is not None:
                parts.append((arrays.facet_values, *arrays.facets()))
                continue
            labels = [
                (fieldname, term.decode("utf-8"))
                for fieldname in schema.FACET_FIELDS.values()
                for term in segment.lexicon(fieldname)
            ]
            holders = (read_matcher(segment.postings(*label))[0] for label in labels)
            parts.append((labels, *by_document(holders, segment.doc_count_all())))
        self.values: list[str] = []
        self.ranges: dict[str, tuple[int, int]] = {}
        places: dict[tuple[str, str], int] = {}
        for name, fieldname in schema.FACET_FIELDS.items():
            low = len(self.values)
            for value in sorted({v for labels, _, _ in parts for f, v in labels if f == fieldname}):
                places[fieldname, value] = len(self.values)
                self.values.append(value)
            self.ranges[name] = (low, len(self.values))
        # Document d's values are codes[starts[d]:starts[d + 1]].
        self.starts, self.codes = joined(parts, places)
        self.alive = alive
        self.everything = self.count(alive)

    def count(self, docs: np.ndarray) -> np.ndarray:
        """How many of ``docs`` (in order) hold each value."""
        places = runs(self.starts[docs], self.starts[docs + 1] - self.starts[docs])
        return np.bincount(self.codes[places], minlength=len(self.values))

    def top(self, docs: np.ndarray, rest: Callable[[], np.ndarray]) -> dict[str, list[FacetCount]]:
        """The FACET_SIZE values of each facet most held by ``docs`` (live documents, in
        order); ``rest()`` gives the other live documents, counted instead when ``docs`` are
        most of the index."""
        if 2 * len(docs) > len(self.alive):
            found = self.everything - self.count(rest())
        else:
            found = self.count(docs)
        counts = {}
        for name, (low, high) in self.ranges.items():
            # Most first; of equal counts, in the lexicon's order (the values' own).
            order = np.argsort(-found[low:high], kind="stable")[:FACET_SIZE] + low
            counts[name] = [FacetCount(self.values[i], int(found[i])) for i in order if found[i]]
        return counts
