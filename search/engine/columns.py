"""Each document's values in one version of the index, read once: publication dates (and
what comes of them: newest first, "prefer recent", timelines) and numeric columns (stories).

Read from the flat arrays of the segments that have them (search.engine.postings), else from
Whoosh's columns.
"""

from __future__ import annotations

import numpy as np

from search.engine import schema, scoring
from search.engine.timeline import PublicationDays


class Columns:
    """Each document's values of the index version of a :class:`DocSets` (``sets``)."""

    def __init__(self, sets):
        self._sets = sets
        self._ticks: np.ndarray | None = None
        self._recency: dict[tuple[float, int], np.ndarray] = {}
        self._date_rank: np.ndarray | None = None  # each document's place, newest first
        self._newest_ticks: int | None = None
        self._days: PublicationDays | None = None
        self._numbers: dict[str, np.ndarray] = {}  # by numeric column (see numbers())

    def recency_factors(self, reader, recency: float, newest: int) -> np.ndarray:
        """Each document's "prefer recent" multiplier (cached for the latest few weights)."""
        key = (recency, newest)
        factors = self._recency.get(key)
        if factors is None:
            factors = scoring.recency_factors(self.ticks(reader), newest, recency)
            with self._sets.lock:
                if len(self._recency) >= 8:
                    self._recency.pop(next(iter(self._recency)))
                self._recency[key] = factors
        return factors

    def newest_ticks(self, reader) -> int:
        """The publication date of the newest article, in Whoosh's ticks (0 when none is
        dated)."""
        if self._newest_ticks is None:
            ticks = self.ticks(reader)[self._sets.alive]
            self._newest_ticks = int(ticks.max(initial=0))
        return self._newest_ticks

    def publication_days(self, reader) -> PublicationDays:
        """Each live document's publication day, for timelines (read once)."""
        if self._days is None:
            self._days = PublicationDays(self.ticks(reader), self._sets.alive, self._sets.docnums)
        return self._days

    def ticks(self, reader) -> np.ndarray:
        """Each document's publication date in ticks, 0 when undated (read once)."""
        if self._ticks is None:
            found = []
            for segment, _, flat in self._sets.parts(reader.leaf_readers()):
                column = None if flat is None else flat.column(schema.PUBLISHED)
                if column is not None:
                    found.append(column.astype(np.int64))
                elif flat is not None:  # (no dated document)
                    found.append(np.zeros(flat.size, dtype=np.int64))
                elif segment.has_column(schema.PUBLISHED):
                    # Segment by segment: Whoosh's multi-segment column reader fails when a
                    # segment has no dated document (and so no column).
                    values = segment.column_reader(schema.PUBLISHED)
                    size = segment.doc_count_all()
                    found.append(np.array([scoring.column_ticks(values[d]) for d in range(size)]))
                else:
                    found.append(np.zeros(segment.doc_count_all(), dtype=np.int64))
            self._ticks = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        return self._ticks

    def numbers(self, reader, fieldname: str) -> np.ndarray:
        """Each document's value of a numeric column as unsigned integers, 0 where it has
        none (read once)."""
        found = self._numbers.get(fieldname)
        if found is None:
            parts = []
            for segment, _, flat in self._sets.parts(reader.leaf_readers()):
                column = None if flat is None else flat.column(fieldname)
                size = flat.size if flat is not None else segment.doc_count_all()
                if column is None and flat is None and segment.has_column(fieldname):
                    values = segment.column_reader(fieldname)
                    column = np.array([values[d] for d in range(size)], dtype=np.uint64)
                parts.append(np.zeros(size, np.uint64) if column is None else column)
            found = np.concatenate(parts).astype(np.uint64) if parts else np.zeros(0, np.uint64)
            self._numbers[fieldname] = found
        return found

    def date_ranks(self, reader) -> np.ndarray:
        """Each document's place when all are listed newest first (read once).

        Undated documents (0 ticks) count as oldest; of two the same age, the one added first
        comes first.
        """
        if self._date_rank is None:
            alive = self._sets.alive
            order = alive[np.lexsort((alive, -self.ticks(reader)[alive]))]
            ranks = np.zeros(self._sets.size, dtype=np.int64)
            ranks[order] = np.arange(len(order))
            self._date_rank = ranks
        return self._date_rank

    def newest(self, reader, matched: int, count: int) -> list[int]:
        """The ``count`` most recently published documents of ``matched`` (undated ones last)."""
        docs = self._sets.docnums(matched)
        ranks = self.date_ranks(reader)[docs]
        if len(docs) > count:
            docs, ranks = (a[np.argpartition(ranks, count)[:count]] for a in (docs, ranks))
        return docs[np.argsort(ranks)].tolist()
