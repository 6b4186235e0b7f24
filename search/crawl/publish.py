"""Cleaned pages on their way to the store and the index: one article per text, in batches."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from search.article import Article
from search.store import CorpusStore, Outcome, State


@dataclass
class Ready:
    """An article cleaned from the page at ``url``, with the hash of its text, not yet stored."""

    url: str
    article: Article
    body_hash: str


class ReadyArticles:
    """The articles a crawl or a re-clean made and has not stored yet, one per text.

    The same text under another id is a duplicate, not an article: of one offered before, or
    (in a crawl) of one the store holds. A re-clean, which links every page again, goes by
    the texts of its own run alone (``this_run_only``): the store's links are the old ones.
    """

    def __init__(self, store: CorpusStore, this_run_only: bool = False):
        self.store = store
        self.this_run_only = this_run_only
        self.ready: list[Ready] = []
        # body hash -> article id, of the texts offered and not yet linked (or in this run)
        self._texts: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.ready)

    def offer(self, url: str, article: Article, body_hash: str) -> str:
        """Queue the article cleaned from ``url``; return what it repeats ("" when it is new).

        A repeat is not queued, and its page is linked to no article.
        """
        known = self._texts.get(body_hash)
        if known is not None and known != article.id:
            duplicate = f"article {known}"
        elif self.this_run_only:
            duplicate = ""
        else:
            duplicate = self.store.same_text(body_hash, article.id) or ""
        if duplicate:
            self.store.link_page(url, None, None)
            return duplicate
        page = self.store.page(url)
        article.fetched = datetime.fromisoformat(page.fetched) if page else None
        self.ready.append(Ready(url, article, body_hash))
        self._texts[body_hash] = article.id
        return ""

    def take(self) -> list[Ready]:
        """Hand over the queued articles (to be stored), emptying the queue."""
        batch, self.ready = self.ready, []
        return batch

    def stored(self, batch: list[Ready]) -> None:
        """Link each page of a stored batch to its article: the store now knows their texts."""
        for item in batch:
            self.store.link_page(item.url, item.article.id, item.body_hash)
            if not self.this_run_only and self._texts.get(item.body_hash) == item.article.id:
                del self._texts[item.body_hash]


class Publisher:
    """Publishes a crawl's cleaned articles in batches, from a thread of its own.

    Indexing is the slowest step; in its own thread it overlaps fetching and cleaning. One
    batch is published at a time, every ``every`` seconds or as soon as ``batch`` articles wait;
    then their pages are done, and ``counted`` is told the outcomes.
    """

    def __init__(
        self,
        store: CorpusStore,
        publish: Callable[[list[Article]], Mapping[Outcome, int]],
        counted: Callable[[Mapping[Outcome, int]], None],
        every: float,
        batch: int,
    ):
        self.ready = ReadyArticles(store)
        self.publish = publish
        self.counted = counted
        self.every = every
        self.batch = batch
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="publish")
        self._running: Future | None = None
        self._running_batch: list[Ready] = []
        self._last = time.monotonic()

    def offer(self, url: str, article: Article, body_hash: str) -> str:
        """Queue an article (see :meth:`ReadyArticles.offer`); return what it repeats, or ""."""
        return self.ready.offer(url, article, body_hash)

    def step(self, force: bool = False) -> None:
        """Start publishing the waiting articles when due; ``force``: all of them, and wait."""
        if self._running is not None:
            if not (force or self._running.done()):
                return
            self._finish()
        due = time.monotonic() - self._last >= self.every
        if not self.ready or not (force or due or len(self.ready) >= self.batch):
            return
        batch = self.ready.take()
        self._running = self._thread.submit(self.publish, [r.article for r in batch])
        self._running_batch = batch
        self._last = time.monotonic()
        if force:
            self._finish()

    def _finish(self) -> None:
        """Count a published batch and mark its pages done (re-raising what stopped it)."""
        future, batch = self._running, self._running_batch
        self._running, self._running_batch = None, []
        self.counted(future.result())
        self.ready.stored(batch)
        for item in batch:
            self.ready.store.frontier_set(item.url, State.DONE)

    def close(self) -> None:
        """Wait for the publishing thread to end."""
        self._thread.shutdown(wait=True)
