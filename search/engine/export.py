"""Reading every match of a search, in order, from one version of the index: the rows of an
export, a batch at a time, so that memory holds the order (two numbers a match) and one
batch of rows, however many matches there are."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from search.engine import collapse, highlight, order, schema
from search.engine.results import ArticleSummary
from search.engine.view import IndexView
from search.request import SearchRequest

if TYPE_CHECKING:
    from search.engine.searcher import Searcher

# Rows read and handed on at a time: enough that a batch's stored fields are read in document
# order (near each other on disk), few enough that a batch is small beside the order.
BATCH = 500


class Export:
    """Every match of a search in the order of its pages, as rows with the fields of the
    JSON results (``snippet`` only when asked for).

    Holds a Whoosh searcher of its own over the version of the index it was ranked in, closed
    when the rows have all been read, when :meth:`close` is called, or when the export is
    collected, whichever comes first.
    """

    def __init__(
        self,
        view: IndexView,
        docs: np.ndarray,
        scores: np.ndarray | None,
        stories: collapse.Stories,
        terms: dict[str, Any] | None,
    ):
        self.total = len(docs)  # the rows to come
        self._view = view
        self._docs = docs
        self._scores = scores
        self._stories = stories
        self._terms = terms
        self._close = weakref.finalize(self, view.searcher.close)

    def batches(self, size: int | None = None) -> Iterator[list[dict[str, Any]]]:
        """The rows, ``size`` (default BATCH) at a time; the searcher is closed at the end (or
        when the iteration is closed)."""
        size = size or BATCH
        try:
            for start in range(0, self.total, size):
                yield self._rows(start, min(start + size, self.total))
        finally:
            self.close()

    def close(self) -> None:
        """Close the export's searcher (rows can no longer be read)."""
        self._close()

    def _rows(self, start: int, end: int) -> list[dict[str, Any]]:
        searcher = self._view.searcher
        chunk = self._docs[start:end]
        stored = {int(d): searcher.stored_fields(int(d)) for d in np.sort(chunk)}
        rows = []
        for at, docnum in enumerate(chunk.tolist(), start):
            article = schema.stored_article(stored[docnum])
            score = float(self._scores[at]) if self._scores is not None else None
            row = ArticleSummary.of(article, score).to_dict()
            row["versions"] = self._stories.others(docnum)
            if self._terms is not None:
                row["snippet"] = highlight.snippet(article.body, self._terms.get(schema.BODY, ()))
            rows.append(row)
        return rows


def read_all(searcher: Searcher, request: SearchRequest, snippets: bool = False) -> Export:
    """Every match of ``request`` in the order of its pages (collapsed, the best of each
    story), from the newest version of the index, read through a searcher of its own.

    Ranked before any row is read, so that a bad query is refused before the first row.

    Raises:
        InvalidRequest: the query cannot be read at all.
    """
    view = searcher.pinned_view()
    try:
        plan = searcher.plan(view, request)
        docs, keys = order.ranked(*order.sort_keys(view, plan), plan.collapsing)
        reader = view.searcher.reader()
        terms = highlight.highlight_terms(plan.parsed, reader) if snippets else None
    except BaseException:
        view.searcher.close()
        raise
    return Export(view, docs, None if plan.by_date else -keys, plan.stories, terms)
