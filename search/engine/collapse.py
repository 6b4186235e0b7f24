"""Collapsing results by story: one hit per story (its best ranked article), paged by
stories, each hit with the number of its other versions (see search.stories)."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

import numpy as np

from search.engine import schema
from search.engine.docsets import DocSets

# Ranked documents: (document number, score or None), best first, at most as many as asked.
Ranked = Callable[[int], list[tuple[int, float | None]]]


class Stories:
    """The stories of one version of the index: each document's story, and each story's
    size (over the documents not deleted)."""

    def __init__(self, sets: DocSets, reader):
        known = sets.columns.numbers(reader, schema.STORY).astype(np.int64)
        # A document without a story (indexed before stories were kept) is one by itself.
        alone = known == 0
        known[alone] = -1 - np.flatnonzero(alone)
        self._alive = sets.alive
        # Each document's story numbered 0, 1, ... (a story's size, counts by array indexing).
        keys, codes = np.unique(known, return_inverse=True)
        self.codes = codes.astype(np.int32)
        self._sizes = np.bincount(self.codes[sets.alive], minlength=len(keys))

    def count(self, docs: np.ndarray) -> int:
        """How many stories the documents ``docs`` belong to (marked, not sorted: a query's
        matches can be most of a million documents)."""
        held = np.zeros(len(self._sizes), dtype=bool)
        held[self.codes[docs]] = True
        return int(np.count_nonzero(held))

    def others(self, docnum: int) -> int:
        """How many other (undeleted) documents tell the story of this one."""
        return max(0, int(self._sizes[self.codes[docnum]]) - 1)

    def members(self, docnum: int) -> list[int]:
        """The (undeleted) documents of this one's story, in index order, this one left out."""
        found = np.flatnonzero(self.codes == self.codes[docnum])
        return [int(d) for d in np.intersect1d(found, self._alive) if d != docnum]


_cache: weakref.WeakKeyDictionary[DocSets, Stories] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def stories(sets: DocSets, reader) -> Stories:
    """The stories of the index version of ``sets`` (read once per version)."""
    with _lock:
        found = _cache.get(sets)
    if found is None:
        found = Stories(sets, reader)
        with _lock:
            _cache[sets] = found
    return found


def matched_stories(found: Stories, matched: np.ndarray) -> int:
    """How many stories the ``matched`` documents (in order) belong to."""
    return found.count(matched) if len(matched) else 0


def page(ranked: Ranked, found: Stories | None, start: int, end: int) -> list:
    """Results ``start`` to ``end`` of a ranking: of every document, or, given the index's
    stories, of the best ranked document of each story.

    The ranking is asked for more documents until ``end`` stories are found or it has no
    more, so a page costs about as much as the same page without collapsing unless one
    story fills the top of the ranking.
    """
    if found is None:
        return ranked(end)[start:end]
    want = 2 * end
    while True:
        listed = ranked(want)
        seen: set[int] = set()
        best = []
        for docnum, score in listed:
            story = int(found.codes[docnum])
            if story not in seen:
                seen.add(story)
                best.append((docnum, score))
                if len(best) == end:
                    return best[start:end]
        if len(listed) < want:
            return best[start:end]
        want *= 4
