"""Cleaned pages on their way to the store: one article per text, each page linked to its own."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from search.article import Article
from search.store import CorpusStore


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
