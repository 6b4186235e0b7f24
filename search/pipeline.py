"""Ingest, crawl, publish, reindex: the services the command line and the crawler share.

Each takes the data folder's write lock while it writes and returns what it did as a typed
result; the caller shows progress (a :class:`search.progress.Step` per article of each phase)
and prints. Writing can fail with ``WriterBusy`` (another writer holds the lock),
``StoreDamaged``, ``IndexingFailed``, ``OSError`` or ``sqlite3.Error``; the live index is
untouched by a failed write.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from search import names, settings
from search.article import Article
from search.clean import CleanError, clean_document
from search.crawl.crawl import Crawler, CrawlOptions, CrawlStats
from search.crawl.fetch import FetchPolicy
from search.crawl.reclean import Recleaned, reclean_pages
from search.engine.writer import build_generation, update_live
from search.errors import NoCorpusStore
from search.generations import live_generation, write_lock
from search.progress import ARTICLES, BYTES, PAGES, Progress, Step, no_progress
from search.sources import Document, Skipped, read_file
from search.store import STORE_FILE, CorpusStore, FrontierRow, Outcome, State

logger = logging.getLogger(__name__)

BATCH_SIZE = 500  # articles an ingest stores in one transaction


@dataclass
class Ingested:
    """What an ingest did: articles stored by outcome, inputs passed over, time taken."""

    stored: Counter[Outcome] = field(default_factory=Counter)
    skipped: list[Skipped] = field(default_factory=list)  # those without text, and failures
    seconds: float = 0.0

    @property
    def failed(self) -> list[Skipped]:
        """The inputs that could not be read or cleaned (not those merely without text)."""
        return [item for item in self.skipped if item.failed]


@dataclass
class Crawled:
    """What a crawl did: its counters, the URLs that failed or were skipped, what is left."""

    stats: CrawlStats
    problems: list[FrontierRow]  # failed and skipped URLs, in the order they were found
    queued: int  # URLs left in the frontier for --resume


@dataclass
class Reindexed:
    """The generation a reindex made live, how many articles it holds, and the time taken."""

    generation: str
    articles: int
    seconds: float


def _writing(index_dir: Path) -> AbstractContextManager[None]:
    """The data folder's write lock, with a wait bounded by LOCK_TIMEOUT."""
    return write_lock(index_dir, settings.from_env("LOCK_TIMEOUT"))


def ingest(
    files: list[Path],
    index_dir: Path,
    progress: Progress = no_progress,
    missed: Iterable[Skipped] = (),
) -> Ingested:
    """Clean files of articles into the store and the live index.

    ``files`` and ``missed`` are what :func:`search.sources.find_files` found and passed over.
    Inputs that cannot be read, hold no article text or fail to clean are passed over too and
    listed in the result; the articles are stored ``BATCH_SIZE`` at a time, then indexed.
    ``progress`` hears of every article read ("reading": bytes of the files read) and indexed.
    """
    result = Ingested(skipped=list(missed))
    started = time.monotonic()
    names.load_aliases(index_dir)  # a malformed aliases file stops the ingest before it starts
    total = sum(_size(path) for path in files)
    with _writing(index_dir), CorpusStore(index_dir) as store:
        batch: list[Article] = []
        for count, (article, done) in enumerate(_articles(files, result.skipped), 1):
            batch.append(article)
            if len(batch) >= BATCH_SIZE:
                result.stored.update(outcome for _, outcome in store.upsert(batch))
                batch = []
            progress(Step("reading", count, done, total, BYTES))
        result.stored.update(outcome for _, outcome in store.upsert(batch))
        index_pending(store, index_dir, progress)
    result.seconds = time.monotonic() - started
    return result


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_file says why


def _articles(files: Iterable[Path], skipped: list[Skipped]) -> Iterator[tuple[Article, int]]:
    """The articles cleaned from ``files``, each with the bytes of the files read up to its
    end; what yields none is added to ``skipped``."""
    before = 0  # bytes of the files already read
    for path in files:
        for item in read_file(path):
            article = _clean_or_skip(item, skipped)
            if article:
                yield article, before + item.end
        before += _size(path)


def _clean_or_skip(item: Document | Skipped, skipped: list[Skipped]) -> Article | None:
    if isinstance(item, Skipped):
        skipped.append(item)
        return None
    try:
        return clean_document(item)
    except CleanError as error:
        logger.debug("skipped %s: %s", item.origin, error)
        skipped.append(Skipped(item.origin, str(error), error.failed))
        return None


def publish(index_dir: Path, articles: list[Article]) -> Counter[Outcome]:
    """Store crawled articles and write them (and any other pending ones) to the live index.

    Opens a store connection of its own: the crawler calls it from its publisher thread.
    """
    with _writing(index_dir), CorpusStore(index_dir) as store:
        outcomes = store.upsert(articles)
        index_pending(store, index_dir)
    return Counter(outcome for _, outcome in outcomes)


def index_pending(store: CorpusStore, index_dir: Path, progress: Progress = no_progress) -> None:
    """Write every stored article the live index lacks (this run's, or a killed run's).

    The caller holds the write lock. Articles added or changed join their stories first.
    """
    store.assign_stories(pending_only=True)
    if unclustered := store.count_unclustered():
        logger.warning(
            "%d stored articles are in no story yet (stored before stories were kept): "
            "`search reindex` groups them",
            unclustered,
        )
    # With no live index (a new folder, a lost LIVE, or a LIVE naming a generation that is
    # gone), every stored article is indexed.
    live = live_generation(index_dir)
    whole = live is None or not live.path.is_dir()
    pending = list(store.articles(pending_only=not whole))
    if pending or whole:
        update_live(index_dir, pending, _counter(progress, "indexing", len(pending)))
        store.mark_indexed(a.id for a in pending)


def _counter(
    progress: Progress, phase: str, total: int, unit: str = ARTICLES
) -> Callable[[int], None]:
    """A function that counts the articles (or pages) of ``phase`` done and tells ``progress``,
    which hears of the phase's start at once (its rate is measured from there)."""
    done = 0
    progress(Step(phase, 0, 0, total, unit))

    def count(items: int) -> None:
        nonlocal done
        done += items
        progress(Step(phase, done, done, total, unit))

    return count


def crawl(
    index_dir: Path,
    policy: FetchPolicy,
    options: CrawlOptions,
    progress: Callable[[CrawlStats], None] | None = None,
) -> Crawled:
    """Crawl into the store and the live index, publishing articles as they are cleaned.

    Raises:
        BadURL: a start URL the crawler cannot use, or nothing to resume.
    """
    names.load_aliases(index_dir)  # a malformed aliases file stops the crawl before it starts
    with CorpusStore(index_dir) as store:
        stats = Crawler(store, policy, options, partial(publish, index_dir), progress).run()
        problems = store.frontier(State.FAILED, State.SKIPPED)
        queued = store.frontier_counts().get(State.QUEUED, 0)
    return Crawled(stats, problems, queued)


def _existing_store(index_dir: Path) -> CorpusStore:
    """The data folder's corpus store, which must be there: opening a missing one would make
    an empty store, and a reindex of it an empty live generation."""
    if not (index_dir / STORE_FILE).exists():
        raise NoCorpusStore(
            f"there is no corpus store in {index_dir}: reindex rebuilds the index from it. "
            "Ingest (or crawl) the articles again first; the live index is left as it is"
        )
    return CorpusStore(index_dir)


def reindex(
    index_dir: Path,
    reclean: bool = False,
    recleaned: Callable[[Recleaned], None] | None = None,
    progress: Progress = no_progress,
) -> Reindexed:
    """Rebuild the whole index from the store as a new generation and make it live.

    With ``reclean``, first re-clean the crawled pages kept in the store (no network) and
    tell ``recleaned`` what came of it. Raises ``NoCorpusStore`` when the folder has no store.
    """
    started = time.monotonic()
    aliases = names.load_aliases(index_dir)
    with _writing(index_dir), _existing_store(index_dir) as store:
        if reclean:
            pages = store.count_pages()
            done = reclean_pages(store, progress=_counter(progress, "re-cleaning", pages, PAGES))
            if recleaned:
                recleaned(done)
        store.assign_stories()
        total = store.count()
        # One pass over the stored people and topics first: the canonical value of each.
        table = names.learn(store.name_rows(), aliases)
        generation, count = build_generation(
            index_dir,
            store.articles(),
            keep=settings.from_env("KEEP_GENERATIONS"),
            progress=_counter(progress, "indexing", total),
            total=total,
            names=table,
        )
        store.mark_indexed()
    return Reindexed(generation.name, count, time.monotonic() - started)
