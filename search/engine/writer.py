"""Writing the index: a new generation beside the live one, switched in at the end, or into
the live one."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import pickle
import shutil
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import writing as whoosh_writing

from search import names as canonical_names
from search import settings
from search.article import Article
from search.engine import merged, postings, schema
from search.engine.lexicon import Lexicon
from search.engine.segments import CODEC, GenerationWriter
from search.errors import IndexingFailed
from search.generations import (
    Generation,
    live_generation,
    new_generation_path,
    prune,
    switch_live,
)

logger = logging.getLogger(__name__)

# Writers keep a segment's files apart (compound=False): a reader of a compound segment copies
# each part of it into memory, once per searcher, which multiplies a worker's memory by its
# threads. Separate files are read through the page cache instead.
# Postings a new generation's writers hold before a new segment, split between the workers
# (about 30,000 articles of 2 KB each): a query's cost grows with the number of segments.
WRITER_MEMORY = 2 * 1024 * 1024 * 1024


def _new_generation(data_dir: Path) -> Generation:
    """Make the next generation's folder, holding an empty index."""
    generation = new_generation_path(data_dir)
    whoosh_index.create_in(str(generation.path), schema.create_schema())
    return generation


def build_generation(
    data_dir: str | Path,
    articles: Iterable[Article],
    keep: int = 2,
    progress: Callable[[int], None] | None = None,
    total: int | None = None,
    workers: int | None = None,
    names: canonical_names.NameTable | None = None,
) -> tuple[Generation, int]:
    """Index ``articles`` into a new generation, then make it live; return it and its size.

    ``names`` gives the canonical people and topics (search.names, learnt from the same
    articles); without it, each value's is its alias in the data folder's aliases file or
    its first spelling.

    ``total`` (the number of articles, when ``articles`` has no length) lets the work be shared
    by up to ``workers`` processes, each with MIN_SHARE articles at least (by default the
    INDEX_WORKERS setting; 0: one per core); small or unsized collections are indexed in this
    process. The caller holds :func:`write_lock`. Until the final switch the live generation is
    untouched: an error (or a kill) leaves it serving and the half-built one is removed.
    """
    data_dir = Path(data_dir)
    if isinstance(articles, Sized):
        total = len(articles)
    if workers is None:
        workers = settings.from_env("INDEX_WORKERS")
    workers = min(workers or settings.cores(), (total or 0) // MIN_SHARE)
    if names is None:
        names = canonical_names.NameTable(canonical_names.load_aliases(data_dir))
    prune(data_dir, keep)
    generation = _new_generation(data_dir)
    writer = None
    try:
        ix = schema.open_index(generation.path)
        fields = ix.schema  # with the fast text fields (the index saves plain ones)
        names.save(generation.path)  # (the workers read it there)
        writer = GenerationWriter(ix, fields)
        with _no_cycle_collection():
            if workers > 1:
                segments, lexicon = _write_in_workers(writer, articles, total, workers, progress)
            else:
                segments, lexicon = _write_segments(
                    ix, fields, articles, WRITER_MEMORY, progress, names=names
                )
            writer.segments = segments  # this writer, holding the lock, lists them
            writer.commit(merge=False)
        count = sum(segment.doc_count_all() for segment in segments)
        if len(segments) > 1:
            # One file of flat arrays for the generation: a word is found once, not once
            # per segment (search.engine.merged); the segments' own go.
            listed = [(segment.segment_id(), segment.doc_count_all()) for segment in segments]
            try:
                merged.merge(generation.path, listed)
            except ValueError as error:
                logger.warning("the segments' flat arrays are not merged: %s", error)
            else:
                for name, _ in listed:
                    (generation.path / f"{name}{postings.SUFFIX}").unlink()
        lexicon.save(generation.path)
    except BaseException:
        if writer is not None and not writer.is_closed:
            with suppress(Exception):  # the original error is the one to report
                writer.cancel()
        shutil.rmtree(generation.path, ignore_errors=True)
        raise
    switch_live(data_dir, generation.name)
    logger.info("generation %s is live with %d articles", generation.name, count)
    prune(data_dir, keep)
    return generation, count


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a generation is written: the millions of small
    tuples and lists of the postings live until their segment is written, and the collector
    would walk them again and again (a tenth of indexing time). What writing leaves in cycles
    (a finished writer, held by an exception Whoosh keeps, without its large parts: see
    GenerationWriter.finish_segment) waits for the collector's next run."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _ParentGone(Exception):
    """A worker's parent process was killed: nobody wants its segments."""


def _write_segments(
    ix: Any,
    fields: Any,
    articles: Iterable[Article],
    memory: int,
    progress: Callable[[int], None] | None = None,
    parent: int | None = None,
    names: canonical_names.NameTable | None = None,
) -> tuple[list[Any], Lexicon]:
    """Write ``articles`` into ``ix`` as segments of at most about ``memory`` bytes of postings
    each (a segment at a time keeps memory bounded on a large corpus), for a writer that holds
    the lock to list; return them and the articles' lexicon.

    Raises:
        _ParentGone: ``parent`` (a process id) is no longer this process's parent; checked
            every 256 articles.
    """
    segments: list[Any] = []
    lexicon = Lexicon()
    writer = None
    try:
        for number, article in enumerate(articles):
            if parent is not None and number % 256 == 0 and os.getppid() != parent:
                raise _ParentGone
            if writer is None:
                writer = GenerationWriter(ix, fields, lock=False)
            writer.add_document(**schema.article_document(article, names))
            lexicon.add(article)
            if progress:
                progress(1)
            if writer.memory > memory:
                segments.append(writer.finish_segment())
                writer = None
        if writer is not None:
            segments.append(writer.finish_segment())
    except BaseException:
        if writer is not None:
            with suppress(Exception):  # its files: the half-built generation goes as a whole
                writer.discard_segment()
        raise
    return segments, lexicon


# --- Writing a new generation in several processes ---
#
# Each worker process writes whole segments, the same as one writer would, into the new
# generation's folder. This process cuts the articles into runs (a worker's share of them, or
# fewer when their text passes RUN_CHARS), hands each run to the next worker as one message as
# soon as that worker is idle, and lists the segments in the order of the runs, so every
# document keeps the number (and so the order) it would have had. A worker starts a new segment
# whenever its postings fill its part of WRITER_MEMORY. It only ever holds its end of a pipe, so
# when this process dies its next read fails; during a run it looks for a new parent process
# every 256 articles. Either way it exits.
#
# Workers are spawned (no copy of this process's threads or locks), so they import the main
# module anew: a script that builds generations needs the usual `if __name__ == "__main__":`.

MIN_SHARE = 1000  # articles a worker must have at least: starting a process costs ~0.3 s
RUN_CHARS = 256 * 1024 * 1024  # text characters in one run at most (the articles in flight)


def _segment_worker(path: str, conn: Any, parent: int, memory: int) -> None:
    """A worker's loop: write each run of articles received as segments of at most about
    ``memory`` bytes of postings, and send them back with the run's lexicon, until None."""
    gc.disable()  # as in _no_cycle_collection, for the life of the worker
    try:
        ix = schema.open_index(path)
        fields = ix.schema
        names = canonical_names.NameTable.load(path)
        while True:
            try:
                articles = conn.recv()
            except EOFError:  # the parent is gone
                return
            if articles is None:
                return
            segments, lexicon = _write_segments(
                ix, fields, articles, memory, parent=parent, names=names
            )
            conn.send(("done", segments, lexicon.counts))
    except _ParentGone:
        return
    except BaseException as error:
        detail = traceback.format_exc()
        try:
            pickled = pickle.dumps(error)
        except Exception:
            pickled = None
        with suppress(Exception):  # the parent may be gone too
            conn.send(("failed", pickled, detail))


def _runs(articles: Iterable[Article], share: int, budget: int) -> Iterator[list[Article]]:
    """``articles`` in runs of at most ``share`` articles and about ``budget`` characters."""
    run: list[Article] = []
    size = 0
    for article in articles:
        run.append(article)
        size += len(article.title) + len(article.body)
        if len(run) >= share or size >= budget:
            yield run
            run, size = [], 0
    if run:
        yield run


def _write_in_workers(
    writer: GenerationWriter,
    articles: Iterable[Article],
    total: int,
    workers: int,
    progress: Callable[[int], None] | None,
) -> tuple[list[Any], Lexicon]:
    """Write ``articles`` as segments made by ``workers`` processes, into the index of
    ``writer`` (which holds the lock); return the segments, in order, and the lexicon.

    Raises:
        IndexingFailed: a worker stopped (killed, out of memory) or failed with an error that
            could not be passed back (its traceback is logged); an error that could is raised
            as it is. Either has the worker's traceback as a note.
    """
    context = multiprocessing.get_context("spawn")
    pipes, processes = [], []
    path = str(writer.storage.folder)
    memory = WRITER_MEMORY // workers

    def stopped(worker: int) -> IndexingFailed:
        processes[worker].join(timeout=5)
        code = processes[worker].exitcode
        if code is not None and code < 0:
            name = signal.Signals(-code).name
            return IndexingFailed(f"an indexing process was killed ({name}; out of memory?)")
        return IndexingFailed(f"an indexing process stopped (exit code {code})")

    def failed(pickled: bytes | None, detail: str) -> BaseException:
        try:
            error = pickle.loads(pickled) if pickled else None
        except Exception:
            error = None
        if not isinstance(error, BaseException):
            logger.error("an indexing process failed:\n%s", detail)
            error = IndexingFailed(f"an indexing process failed: {detail.strip().splitlines()[-1]}")
        error.add_note(f"in an indexing process:\n{detail}")
        return error

    try:
        for _ in range(workers):
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_segment_worker, args=(path, theirs, os.getpid(), memory), daemon=True
            )
            process.start()
            theirs.close()
            pipes.append(mine)
            processes.append(process)
        segments: list[Any] = []
        lexicon = Lexicon()
        pending: list[tuple[int, int]] = []  # (worker, articles) of the runs in progress, in order

        def collect() -> None:
            worker, size = pending.pop(0)
            try:
                answer = pipes[worker].recv()
            except (EOFError, OSError):
                raise stopped(worker) from None
            if answer[0] == "failed":
                raise failed(*answer[1:])
            segments.extend(answer[1])
            lexicon.counts.update(answer[2])
            if progress:
                progress(size)

        for number, run in enumerate(_runs(articles, -(-total // workers), RUN_CHARS)):
            worker = number % workers
            if len(pending) == workers:
                collect()  # the oldest run is this worker's
            try:
                pipes[worker].send(run)
            except OSError:
                raise stopped(worker) from None
            pending.append((worker, len(run)))
        while pending:
            collect()
        for pipe in pipes:
            pipe.send(None)
        for process in processes:
            process.join()
        return segments, lexicon
    finally:
        for pipe in pipes:
            pipe.close()
        for process in processes:  # after an error: stop the workers still busy
            if process.is_alive():
                process.kill()
                process.join()


def update_live(
    data_dir: str | Path,
    articles: Iterable[Article],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Add or replace ``articles`` in the live generation (creating the first one if needed).

    The caller holds :func:`write_lock`; ``progress`` is told of the articles written.
    Returns how many articles were written.
    """
    data_dir = Path(data_dir)
    live = live_generation(data_dir)
    if live is None or not live.path.is_dir():
        # The first articles of a data folder make its first generation (the faster writer),
        # as do all the articles again when the live generation is gone.
        names = None
        if isinstance(articles, Sized):
            aliases = canonical_names.load_aliases(data_dir)
            names = canonical_names.learn(canonical_names.rows_of(articles), aliases)
        return build_generation(data_dir, articles, progress=progress, names=names)[1]
    ix = schema.open_index(live.path)
    count = 0
    lexicon = Lexicon.load(live.path)
    # The generation's canonical names; values never seen are added as they come. A
    # generation written before them (no table) keeps the values as written until the next
    # reindex: its articles were indexed so, and its filters look for them so; a table now
    # would send a filter by one of its values (james-baker) to another (James Baker).
    names = canonical_names.NameTable.load(live.path)
    writer = ix.writer(limitmb=256, compound=False, codec=CODEC)
    try:
        if lexicon is None:  # an index made before lexicons, or a damaged one: count again
            with ix.searcher() as searcher:
                lexicon = Lexicon.of_index(searcher)
        for article in articles:
            writer.update_document(**schema.article_document(article, names, record=True))
            lexicon.add(article)
            count += 1
            if progress:
                progress(1)
        # Before the commit makes the new articles visible, so no reader sees them without it.
        lexicon.save(live.path)
        if names is not None:
            names.save(live.path)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=merge_updates)
    return count


def merge_updates(writer, segments: list) -> list:
    """Whoosh's merge policy (MERGE_SMALL) among the segments its own writer made for updates;
    the generation's own segments, which have flat arrays (search.engine.postings), are kept
    as they are. Whoosh merges by rewriting every posting in Python, and its policy would
    merge most of a large generation's segments into one on the next small update (at a
    million articles, minutes for a thousand new ones), and lose their flat arrays."""
    storage = writer.storage
    covered = postings.covered(Path(storage.folder))
    bulk = [
        s
        for s in segments
        if s.segment_id() in covered or storage.file_exists(s.make_filename(postings.SUFFIX))
    ]
    updates = [s for s in segments if s not in bulk]
    return bulk + whoosh_writing.MERGE_SMALL(writer, updates)
