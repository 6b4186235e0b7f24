"""Re-cleaning the crawled pages kept in the store with the current cleaner (no network)."""

from __future__ import annotations

import json
import logging
import multiprocessing
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field

from search import settings
from search.crawl.process import Processed, init_worker, process_body
from search.crawl.publish import ReadyArticles
from search.crawl.urls import Scope
from search.store import CorpusStore, Outcome

logger = logging.getLogger(__name__)

BATCH_SIZE = 200


@dataclass
class Recleaned:
    """What a re-clean made of the stored pages."""

    pages: int = 0
    stored: Counter[Outcome] = field(default_factory=Counter)  # articles added, updated, ...
    skipped: int = 0  # no article: section pages, feeds, sitemaps, repeated text
    failed: int = 0


def reclean_pages(
    store: CorpusStore, workers: int = 0, progress: Callable[[int], None] | None = None
) -> Recleaned:
    """Run the current cleaner over every stored raw page and upsert the articles (no network).

    The caller holds the write lock; ``progress`` is told of the pages done.
    """
    saved = json.loads(store.get_state("crawl") or "{}")
    sites = saved.get("start_urls", []) + saved.get("allow_domains", [])
    scope = Scope(sites) if sites else None
    result = Recleaned()
    ready = ReadyArticles(store, this_run_only=True)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        workers or settings.cores(), mp_context=context, initializer=init_worker
    ) as pool:
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
            _reclean_one(window.popleft().result(), ready, result)
            if progress:
                progress(1)
        while window:
            _reclean_one(window.popleft().result(), ready, result)
            if progress:
                progress(1)
        _store(ready, result)
    result.pages = store.count_pages()
    return result


def _reclean_one(processed: Processed, ready: ReadyArticles, result: Recleaned) -> None:
    if processed.error:
        result.failed += 1
        logger.warning("failed %s: %s", processed.url, processed.error)
    elif processed.article is None:
        result.skipped += 1
        ready.store.link_page(processed.url, None, None)
    elif ready.offer(processed.url, processed.article, processed.body_hash):
        result.skipped += 1
    elif len(ready) >= BATCH_SIZE:
        _store(ready, result)


def _store(ready: ReadyArticles, result: Recleaned) -> None:
    batch = ready.take()
    result.stored.update(outcome for _, outcome in ready.store.upsert(r.article for r in batch))
    ready.stored(batch)
