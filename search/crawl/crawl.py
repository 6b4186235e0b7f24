"""The crawl scheduler: a polite, resumable walk over news sites that feeds the store and index.

A little longer than 500 lines: one Crawler, whose loop and the state it keeps (frontier,
hosts' turns, the pages in flight) read best together; fetching, robots.txt, discovery,
cleaning and publishing are modules of their own beside it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from search import settings
from search.article import Article
from search.crawl.fetch import STOPPED, Fetcher, FetchPolicy, Response
from search.crawl.process import HTML_TYPES, XML_TYPES, Processed, init_worker, process_body
from search.crawl.publish import Publisher
from search.crawl.robots import RobotsRules, agent_token
from search.crawl.urls import BadURL, Scope, canonical_url, host_key
from search.store import CorpusStore, Outcome, State, StoredPage

logger = logging.getLogger(__name__)


class Kind(StrEnum):
    """What a URL was found as, which says what may be read from it (stored in the frontier)."""

    START = "start"
    PAGE = "page"
    SITEMAP = "sitemap"
    GUESSED_SITEMAP = "sitemap?"  # /sitemap.xml, robots.txt naming none: may well be missing
    FEED = "feed"
    ROBOTS = "robots"  # a host's robots.txt, fetched before anything else (never in the frontier)


PAGES = (Kind.PAGE, Kind.START)  # what --max-pages counts
ANY_TYPE = HTML_TYPES | XML_TYPES | {"application/octet-stream", "text/plain", ""}


@dataclass
class CrawlOptions:
    """What to crawl and how hard (the `search crawl` options)."""

    start_urls: list[str]
    allow_domains: list[str] = field(default_factory=list)
    max_pages: int = 1000
    max_depth: int = 5
    delay: float = 1.0
    concurrency: int = 4
    per_host: int = 1
    resume: bool = False
    recrawl: bool = False
    clean_workers: int = 0  # 0: one per core
    publish_every: float = 2.0  # seconds between writes to the live index
    publish_batch: int = 200


@dataclass
class CrawlStats:
    """The live counters of a crawl, and what went wrong."""

    fetched: int = 0
    not_modified: int = 0
    queued: int = 0
    indexed: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: int = 0
    started: float = field(default_factory=time.monotonic)
    interrupted: bool = False
    limit_reached: bool = False

    @property
    def rate(self) -> float:
        """Pages fetched per second so far."""
        return (self.fetched + self.not_modified) / max(time.monotonic() - self.started, 1e-9)


@dataclass
class _Task:
    url: str
    kind: str
    depth: int


@dataclass
class _Host:
    key: str
    queue: deque[_Task] = field(default_factory=deque)
    rules: RobotsRules | None = None
    robots_pending: bool = False
    in_flight: int = 0
    ready_at: float = 0.0
    delay: float = 0.0


class Crawler:
    """Runs one crawl: fetch threads, cleaning processes, and this thread writing the store."""

    def __init__(
        self,
        store: CorpusStore,
        policy: FetchPolicy,
        options: CrawlOptions,
        publish: Callable[[list[Article]], Mapping[Outcome, int]],
        progress: Callable[[CrawlStats], None] | None = None,
    ):
        """Prepare a crawl; ``publish`` writes articles to the store and the live index.

        ``publish`` (:func:`search.pipeline.publish`, bound to the data folder) runs in a thread
        of its own, so it opens its own store connection; it returns the upserts' outcomes.
        """
        self.store = store
        self.policy = policy
        self.options = options
        self.progress = progress or (lambda stats: None)
        self.stats = CrawlStats()
        self.stop = threading.Event()
        self.fetcher = Fetcher(policy, self.stop)
        self.agent = agent_token(policy.user_agent)
        self.hosts: dict[str, _Host] = {}
        self.scope = Scope([])
        self._fetches: dict[Future, tuple[_Task, _Host | None]] = {}
        self._cleanings: dict[Future, _Task] = {}
        self.publisher = Publisher(
            store, publish, self._count, options.publish_every, options.publish_batch
        )
        self._max_cleanings = 64

    # -- set-up ------------------------------------------------------------------------------

    def _seed(self) -> list[_Task]:
        """Fill the frontier (fresh or resumed) and return what was fetched but never cleaned."""
        options, store = self.options, self.store
        if options.resume:
            saved = json.loads(store.get_state("crawl") or "{}")
            if not saved and not options.start_urls:
                raise BadURL("nothing to resume: no crawl has run in this data folder")
            starts = options.start_urls or saved.get("start_urls", [])
            allowed = options.allow_domains or saved.get("allow_domains", [])
        else:
            starts, allowed = options.start_urls, options.allow_domains
        starts = [canonical_url(u) for u in starts]
        self.scope = Scope(starts + allowed)
        store.set_state("crawl", json.dumps({"start_urls": starts, "allow_domains": allowed}))
        if not options.resume:
            store.frontier_reset()
        for url in starts:
            store.frontier_add(url, Kind.START, 0)
        unclean = []
        for row in store.frontier(State.QUEUED, State.FETCHED):
            task = _Task(row.url, row.kind, row.depth)
            if row.state == State.FETCHED:
                unclean.append(task)
            else:
                self._host(task.url).queue.append(task)
                self.stats.queued += 1
        return unclean

    def _host(self, url: str) -> _Host:
        key = host_key(url)
        if key not in self.hosts:
            self.hosts[key] = _Host(key, delay=self.options.delay)
        return self.hosts[key]

    def _enqueue(self, url: str, kind: str, depth: int) -> None:
        """Queue a URL found in a page, sitemap or feed, once, if the crawl may go there."""
        if url not in self.scope or depth > self.options.max_depth:
            return
        if self.store.frontier_add(url, kind, depth):
            self._host(url).queue.append(_Task(url, kind, depth))
            self.stats.queued += 1

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> CrawlStats:
        """Crawl until the frontier is empty, the page limit is reached or Ctrl-C."""
        unclean = self._seed()
        workers = self.options.clean_workers or settings.cores()
        # Fetched bodies wait in the cleaning queue: fetching pauses while it is this long.
        self._max_cleanings = 16 * workers
        fetch_pool = ThreadPoolExecutor(self.options.concurrency, thread_name_prefix="fetch")
        # Spawned, not forked: forking a process that runs fetch threads can copy held locks.
        clean_pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker
        )
        handlers = self._catch_signals()
        try:
            for task in unclean:
                self._clean_stored(clean_pool, task)
            self._loop(fetch_pool, clean_pool)
        finally:
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
            self.stop.set()
            fetch_pool.shutdown(wait=True, cancel_futures=True)
            try:
                self._drain(clean_pool)
            finally:
                clean_pool.shutdown(wait=True, cancel_futures=True)
                self.publisher.close()
        self.progress(self.stats)
        return self.stats

    def _catch_signals(self) -> dict[int, Any]:
        """Make Ctrl-C (and SIGTERM) stop the crawl between two steps; a second one aborts."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def stop(signum: int, frame: Any) -> None:
            if self.stop.is_set():
                raise KeyboardInterrupt
            self.stats.interrupted = True
            self.stop.set()
            logger.warning("stopping: storing what was fetched (Ctrl-C again to abandon it)")

        return {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}

    def _loop(self, fetch_pool: ThreadPoolExecutor, clean_pool: ProcessPoolExecutor) -> None:
        shown = 0.0
        while not self.stop.is_set():
            self.publisher.step()
            self._dispatch(fetch_pool)
            pending = list(self._fetches) + list(self._cleanings)
            if not pending:
                wake = self._next_ready()
                if wake is None:
                    break
                time.sleep(max(0.0, min(wake - time.monotonic(), 0.5)))
                continue
            wake = self._next_ready()
            timeout = 0.25 if wake is None else max(0.0, min(wake - time.monotonic(), 0.25))
            done, _ = wait_for(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for future in done:
                if future in self._fetches:
                    task, host = self._fetches.pop(future)
                    self._fetched(task, host, future.result(), clean_pool)
                else:
                    task = self._cleanings.pop(future)
                    self._cleaned(task, _outcome(task, future))
            if time.monotonic() - shown > 0.25:
                self.progress(self.stats)
                shown = time.monotonic()
        self.publisher.step(force=True)

    def _drain(self, clean_pool: ProcessPoolExecutor) -> None:
        """After the loop: keep what the fetches in flight brought, finish cleaning, publish."""
        for future, (task, host) in list(self._fetches.items()):
            if future.done() and not future.cancelled():
                self._fetched(task, host, future.result(), clean_pool)
        self._fetches.clear()
        for future, task in list(self._cleanings.items()):
            self._cleaned(task, _outcome(task, future))
        self._cleanings.clear()
        self.publisher.step(force=True)

    def _next_ready(self) -> float | None:
        """When the next host with fetchable work may be asked again (None: there is none)."""
        times = [
            h.ready_at
            for h in self.hosts.values()
            if h.in_flight < self.options.per_host
            and any(not self.stats.limit_reached or t.kind not in PAGES for t in h.queue)
        ]
        return min(times) if times else None

    def _dispatch(self, pool: ThreadPoolExecutor) -> None:
        """Start fetches while the global and per-host limits and the host delays allow."""
        options = self.options
        now = time.monotonic()
        for host in list(self.hosts.values()):
            while (
                len(self._fetches) < options.concurrency
                and len(self._cleanings) < self._max_cleanings
                and host.in_flight < options.per_host
                and host.ready_at <= now
                and host.queue
                and not self.stop.is_set()
            ):
                if host.rules is None:
                    if not host.robots_pending:
                        self._start(pool, _Task(host.key + "/robots.txt", Kind.ROBOTS, 0), host)
                        host.robots_pending = True
                    break
                task = self._next_task(host)
                if task is None:
                    break
                self._start(pool, task, host)

    def _next_task(self, host: _Host) -> _Task | None:
        """Take the next fetchable task of ``host``, settling those that need no fetch."""
        while host.queue:
            task = host.queue[0]
            is_page = task.kind in PAGES
            if is_page and self.stats.fetched + self.stats.not_modified >= self.options.max_pages:
                # Sitemaps and feeds may still be read; pages wait in the frontier for --resume.
                self.stats.limit_reached = True
                others = [t for t in host.queue if t.kind not in PAGES]
                if not others:
                    return None
                host.queue.remove(others[0])
                self.stats.queued -= 1
                return others[0]
            host.queue.popleft()
            self.stats.queued -= 1
            if host.rules.disallow_all:
                # Not the site's wish but our failure to learn it: a fault to report.
                self._settle(task.url, State.FAILED, host.rules.reason)
                continue
            if not host.rules.allows(task.url, self.agent):
                self._settle(task.url, State.SKIPPED, "disallowed by robots.txt")
                continue
            if task.kind == Kind.PAGE and not self.options.recrawl:
                stored = self.store.page(task.url)
                if stored and stored.article_id:
                    reason = "stored before (use --recrawl to fetch again)"
                    self._settle(task.url, State.DONE, reason)
                    continue
            return task
        return None

    def _start(self, pool: ThreadPoolExecutor, task: _Task, host: _Host) -> None:
        host.in_flight += 1
        headers = {}
        accept = _accepts(task.kind)
        validated = None
        if task.kind != Kind.ROBOTS:
            stored = self.store.page(task.url)
            if stored and stored.etag:
                headers["If-None-Match"] = stored.etag
            if stored and stored.last_modified:
                headers["If-Modified-Since"] = stored.last_modified
            validated = stored.final_url if stored else None
        if task.kind == Kind.ROBOTS:
            # robots.txt may move (http to https, to www.): follow it, as search engines do.
            future = pool.submit(
                self.fetcher.fetch, task.url, accept, any_host=True, pause=host.delay
            )
        else:
            future = pool.submit(
                self.fetcher.fetch,
                task.url,
                accept,
                headers,
                self._permitted,
                pause=host.delay,
                validated=validated,
            )
        self._fetches[future] = (task, host)

    def _permitted(self, url: str) -> str:
        """Why a same-host redirect target may not be fetched ("" when it may). Any thread."""
        if url not in self.scope:
            return "out of the crawl's scope"
        rules = self.hosts[host_key(url)].rules
        if rules is not None and not rules.allows(url, self.agent):
            return "disallowed by robots.txt"
        return ""

    # -- results -----------------------------------------------------------------------------

    def _fetched(
        self,
        task: _Task,
        host: _Host | None,
        response: Response,
        clean_pool: ProcessPoolExecutor,
    ) -> None:
        if host is not None:
            host.in_flight -= 1
            host.ready_at = time.monotonic() + host.delay
        if task.kind == Kind.ROBOTS:
            self._robots(host, response)
            return
        if response.error == STOPPED:
            self.store.frontier_set(task.url, State.QUEUED)
            return
        if response.error:
            quiet = task.kind == Kind.GUESSED_SITEMAP
            self._settle(task.url, State.SKIPPED if quiet else State.FAILED, response.error)
            return
        if response.skipped:
            self._settle(task.url, State.SKIPPED, response.skipped)
            return
        if response.redirect:
            if response.redirect in self.scope:
                self._enqueue(response.redirect, task.kind, task.depth)
                self._settle(task.url, State.DONE, f"redirected to {response.redirect}")
            else:
                reason = f"redirected out of scope: {response.redirect}"
                self._settle(task.url, State.SKIPPED, reason)
            return
        if response.final_url != task.url:
            # Reached through a redirect: the target is this page, not one to fetch again.
            self.store.frontier_add(response.final_url, task.kind, task.depth, State.DONE)
        if response.status == 304:
            if self.store.page(task.url) is None:
                self._settle(task.url, State.FAILED, "HTTP 304 for a page never stored")
                return
            self.stats.not_modified += 1
        elif response.status == 200:
            self.stats.fetched += 1
            self.store.save_page(
                StoredPage(
                    url=task.url,
                    final_url=response.final_url,
                    content_type=response.content_type,
                    charset=response.charset,
                    etag=response.headers.get("etag"),
                    last_modified=response.headers.get("last-modified"),
                    fetched=datetime.now(UTC).isoformat(),
                    body=response.body,
                )
            )
        else:
            self._settle(task.url, State.FAILED, f"HTTP {response.status}")
            return
        self.store.frontier_set(task.url, State.FETCHED)
        self._clean_stored(clean_pool, task)

    def _clean_stored(self, pool: ProcessPoolExecutor, task: _Task) -> None:
        """Hand the stored copy of a fetched URL to a cleaning process."""
        page = self.store.page(task.url)
        if page is None:  # fetched state without a copy: fetch it again
            self.store.frontier_set(task.url, State.QUEUED)
            self._host(task.url).queue.append(task)
            self.stats.queued += 1
            return
        future = pool.submit(
            process_body,
            page.url,
            page.final_url,
            page.body,
            page.content_type,
            page.charset,
            self.policy.max_bytes,
            self.scope,
        )
        self._cleanings[future] = task

    def _robots(self, host: _Host, response: Response) -> None:
        host.robots_pending = False
        rules = RobotsRules.from_response(response)
        if rules.disallow_all:
            logger.warning("%s: %s; fetching nothing from it", host.key, rules.reason)
        host.rules = rules
        host.delay = max(self.options.delay, rules.delay(self.agent))
        host.ready_at = time.monotonic() + host.delay
        sitemaps = rules.sitemaps
        for url in sitemaps:
            try:
                self._enqueue(canonical_url(url), Kind.SITEMAP, 0)
            except BadURL:
                logger.info("%s: robots.txt names a bad sitemap URL %r", host.key, url)
        if not sitemaps and not rules.disallow_all:
            self._enqueue(host.key + "/sitemap.xml", Kind.GUESSED_SITEMAP, 0)

    def _cleaned(self, task: _Task, result: Processed) -> None:
        found = result.found
        if result.error:
            self._settle(task.url, State.FAILED, result.error)
        elif result.article is None:
            # A section page, a feed or a sitemap leads somewhere; an empty page is a skip.
            leads = found.pages or found.sitemaps or found.feeds
            self._settle(task.url, State.DONE if leads else State.SKIPPED, result.skipped)
        else:
            article = result.article
            duplicate = self.publisher.offer(task.url, article, result.body_hash)
            if duplicate:
                self._settle(task.url, State.SKIPPED, f"same text as {duplicate}")
            if article.url != task.url and article.url in self.scope:
                # The page names its canonical address: that URL needs no fetch of its own.
                self.store.frontier_add(article.url, Kind.PAGE, task.depth, State.DONE)
        depth = task.depth + 1
        for url in found.sitemaps:
            self._enqueue(url, Kind.SITEMAP, task.depth)
        for url in found.feeds:
            self._enqueue(url, Kind.FEED, depth)
        for url in found.pages:
            self._enqueue(url, Kind.PAGE, depth)

    def _settle(self, url: str, state: str, reason: str = "", count: bool = True) -> None:
        """Record the end of a URL's road in the frontier and in the counters."""
        self.store.frontier_set(url, state, reason)
        if count and state == State.FAILED:
            self.stats.errors += 1
            logger.info("failed %s: %s", url, reason)
        elif count and state == State.SKIPPED:
            self.stats.skipped += 1
            logger.debug("skipped %s: %s", url, reason)

    def _count(self, outcomes: Mapping[Outcome, int]) -> None:
        """Count the outcomes of a published batch."""
        self.stats.indexed += outcomes.get(Outcome.ADDED, 0) + outcomes.get(Outcome.UPDATED, 0)
        self.stats.unchanged += outcomes.get(Outcome.UNCHANGED, 0)


def _outcome(task: _Task, future: Future) -> Processed:
    """The result of a cleaning process, or a failure saying why it has none."""
    try:
        return future.result()
    except Exception as error:  # a worker that died or a result that could not be sent back
        return Processed(task.url, error=f"cleaning failed: {type(error).__name__}: {error}")


def _accepts(kind: str) -> Callable[[str], bool]:
    """The media types worth downloading for a URL found as ``kind``."""
    if kind == Kind.PAGE:
        return HTML_TYPES.__contains__
    if kind == Kind.ROBOTS:
        return lambda media: True
    return ANY_TYPE.__contains__
