"""Re-cleaning the crawled pages kept in the store with the current cleaner (no network)."""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import datetime

from search import settings
from search.article import Article
from search.crawl.process import Processed, init_worker, process_body
from search.crawl.urls import Scope
from search.store import CorpusStore

logger = logging.getLogger(__name__)


def reclean_pages(store: CorpusStore, workers: int = 0) -> Counter[str]:
    """Run the current cleaner over every stored raw page and upsert the articles (no network).

    The caller holds the write lock. Returns counts of ``added``, ``updated``, ``unchanged``,
    ``skipped`` (no article: section pages, feeds, sitemaps, repeated text) and ``failed``.
    """
    saved = json.loads(store.get_state("crawl") or "{}")
    sites = saved.get("start_urls", []) + saved.get("allow_domains", [])
    scope = Scope(sites) if sites else None
    counts: Counter[str] = Counter()
    texts: dict[str, str] = {}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers or settings.cores(), mp_context=context, initializer=init_worker
    ) as pool:
        batch: list[tuple[str, Article, str]] = []
        futures = (
            pool.submit(
                process_body, p.url, p.final_url, p.body, p.content_type, p.charset, 10**9, scope
            )
            # Pages that made articles first, so a repeated text keeps the URL it had.
            for linked in (True, False)
            for p in store.pages(linked=linked)
        )
        # map-like, but bounded: at most a few hundred pages in memory at once.
        window: deque[Future] = deque()
        for future in futures:
            window.append(future)
            if len(window) < 64:
                continue
            _reclean_one(window.popleft().result(), texts, counts, batch, store)
        while window:
            _reclean_one(window.popleft().result(), texts, counts, batch, store)
        _reclean_flush(batch, counts, store)
    return counts


def _reclean_one(
    result: Processed,
    texts: dict[str, str],
    counts: Counter[str],
    batch: list[tuple[str, Article, str]],
    store: CorpusStore,
) -> None:
    if result.error:
        counts["failed"] += 1
        logger.warning("failed %s: %s", result.url, result.error)
        return
    article = result.article
    if article is None or texts.setdefault(result.body_hash, article.id) != article.id:
        counts["skipped"] += 1
        store.link_page(result.url, None, None)
        return
    page = store.page(result.url)
    article.fetched = datetime.fromisoformat(page.fetched) if page else None
    batch.append((result.url, article, result.body_hash))
    if len(batch) >= 200:
        _reclean_flush(batch, counts, store)


def _reclean_flush(
    batch: list[tuple[str, Article, str]], counts: Counter[str], store: CorpusStore
) -> None:
    counts.update(outcome for _, outcome in store.upsert(a for _, a, _ in batch))
    for url, article, body_hash in batch:
        store.link_page(url, article.id, body_hash)
    batch.clear()
