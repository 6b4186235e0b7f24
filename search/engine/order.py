"""Every match of a search in its order, as arrays: for an export, and for the page after a
cursor (search after the last hit's sort key).

The order is the one a search's pages give: by score (ties by document number) or newest
first, and, collapsed, the best ranked article of each story. A sort key is lower first: the
negated score, or the place in the list of every article newest first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from search.cursor import DAMAGED, Cursor
from search.engine import collapse, topk
from search.engine.view import IndexView
from search.errors import InvalidRequest


@dataclass
class Plan:
    """How a request's matches are ranked in one version of the index (Searcher.plan)."""

    parsed: Any  # the query as parsed
    notices: list[str]
    matched: int  # the matches within the filters, as a bitset
    scored: Any  # the query that scores them (with feedback's words), when by score
    by_date: bool  # newest first (sort=newest, an empty query, or nothing to score by)
    filtered: bool  # whether filters narrow the matches
    blend: tuple[float, int] | None = None  # recency's weight and the newest date, if asked
    stories: collapse.Stories | None = field(default=None, repr=False)  # the index's
    collapse: bool = True  # one result per story

    @property
    def collapsing(self) -> collapse.Stories | None:
        """The stories the results are collapsed by; None when every article is shown."""
        return self.stories if self.collapse else None


def sort_keys(view: IndexView, plan: Plan) -> tuple[np.ndarray, np.ndarray]:
    """Every match (in no particular order) and its sort key."""
    if plan.by_date:
        docs = view.sets.docnums(plan.matched)
        ranks = view.sets.columns.date_ranks(view.searcher.reader())
        return docs, ranks[docs].astype(float)
    docs, scores = view.scored_all(plan.scored, plan.matched, plan.filtered, plan.blend)
    return docs, -scores


def key_of(view: IndexView, plan: Plan, docnum: int, score: float | None) -> float:
    """The sort key of a hit of a page (its score as ranked, None when by date)."""
    if plan.by_date or score is None:
        return float(view.sets.columns.date_ranks(view.searcher.reader())[docnum])
    return -score


def ranked(
    docs: np.ndarray, keys: np.ndarray, stories: collapse.Stories | None
) -> tuple[np.ndarray, np.ndarray]:
    """The matches in order and their keys; collapsed (given the index's stories), only the
    best ranked of each story."""
    order = np.lexsort((docs, keys))
    docs, keys = docs[order], keys[order]
    if stories is not None and len(docs):
        _, first = np.unique(stories.codes[docs], return_index=True)
        first.sort()
        docs, keys = docs[first], keys[first]
    return docs, keys


def after(
    docs: np.ndarray,
    keys: np.ndarray,
    last: tuple[float, int],
    count: int,
    stories: collapse.Stories | None,
) -> list[tuple[int, float]] | None:
    """The ``count`` results that follow the hit ``last`` (its key and document number):
    (document number, key), in order; collapsed, of the stories not shown yet. None when
    ``last`` is not one of the matches, under that key."""
    key, doc = last
    at = np.flatnonzero(docs == doc)
    if not len(at) or keys[at[0]] != key:
        return None
    later = (keys > key) | ((keys == key) & (docs > doc))
    if stories is not None:
        # A story with an article at or before the cursor was shown with its best one.
        shown = np.zeros(int(stories.codes.max(initial=0)) + 1, dtype=bool)
        shown[stories.codes[docs[~later]]] = True
        later &= ~shown[stories.codes[docs]]
    rest, values = docs[later], -keys[later]

    def best(n: int) -> list[tuple[int, float]]:
        return [(d, -v) for d, v in topk.best(rest, values, n)]

    return collapse.page(best, stories, 0, count)


def after_cursor(view: IndexView, plan: Plan, cursor: Cursor, count: int) -> list:
    """The ``count`` hits after ``cursor`` (checked to be of this search and version of the
    index): (document number, score, None when by date).

    Raises:
        InvalidRequest: the cursor's hit is not one of the matches, or not under its key.
    """
    docs, keys = sort_keys(view, plan) if plan.matched else (np.zeros(0, int), np.zeros(0))
    found = after(docs, keys, (cursor.key, cursor.doc), count, plan.collapsing)
    if found is None:
        raise InvalidRequest(DAMAGED, "cursor")
    return [(docnum, None if plan.by_date else -key) for docnum, key in found]
