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
import struct
import traceback
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import contextmanager, suppress
from operator import sub
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from search import settings
from search.article import Article
from search.engine import schema
from search.engine.lexicon import Lexicon
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
WRITER_MEMORY = 256 * 1024 * 1024  # postings a new generation's writer holds before a new segment


# --- Writing a new generation: GenerationWriter ---
#
# Whoosh's own writer suits any use: it estimates each posting's size, spills sorted runs to
# temporary files, sorts every posting of the segment as one list, and then reads each
# document's field length back from disk once per posting. A new generation is written once,
# from the store, by one process, so this writer keeps the postings grouped by term in memory
# (they arrive in document order, so only the terms need sorting) and the field lengths too.
# The files it writes are Whoosh's own: any Whoosh reader opens them (tests/test_indexing.py
# compares them with what Whoosh's writer makes of the same articles).

# Whoosh's codec with posting blocks left uncompressed: most blocks hold a few postings, and
# compressing them was a tenth of indexing time (and decompressing them a cost of every search)
# for an index about 1.4 times smaller.
CODEC = W3Codec(compression=0)

# An entry's key and value lengths in the term index (whoosh.filedb.filetables._lengths).
_ENTRY_LENGTHS = struct.Struct("!ii")

# Bytes a posting costs in memory, roughly (its tuple, its list slot, its encoded positions).
_POSTING_BYTES = 160


class _MemoryPool:
    """Postings grouped by (field, term) in the order they are added: (document, weight, value)."""

    def __init__(self) -> None:
        self.terms: defaultdict[tuple[str, bytes], list[tuple[int, float, bytes]]] = defaultdict(
            list
        )
        self.count = 0

    def cleanup(self) -> None:
        self.terms.clear()


class _LengthRecorder:
    """The per-document writer, remembering the field lengths it writes (as stored: to a byte)."""

    def __init__(self, perdocwriter: Any):
        self._writer = perdocwriter
        self._docnum = 0
        self.lengths: defaultdict[str, dict[int, int]] = defaultdict(dict)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def start_doc(self, docnum: int) -> None:
        self._docnum = docnum
        self._writer.start_doc(docnum)

    def add_field(self, fieldname: str, fieldobj: Any, value: Any, length: int) -> None:
        if length:
            self.lengths[fieldname][self._docnum] = byte_to_length(length_to_byte(length))
        self._writer.add_field(fieldname, fieldobj, value, length)


class GenerationWriter(SegmentWriter):
    """Writes one segment of new documents into an index that has no other writer.

    Not for updates: it never merges segments or deletes documents. Its memory grows with the
    postings it holds; :attr:`memory` estimates it, so a caller can finish the segment and carry
    on with a new writer (:func:`_write_segments`).
    """

    def __init__(self, ix: Any, schema: Any, lock: bool = True):
        if any(field.vector or field.separate_spelling() for _, field in schema.items()):
            raise ValueError("GenerationWriter writes no term vectors or spelling fields")
        # Without the lock: a worker of build_generation, whose parent holds it.
        super().__init__(ix, compound=False, codec=CODEC, _lk=lock)
        self.schema = schema  # the index's own, or one with faster fields that index alike
        self.pool = _MemoryPool()
        self.perdocwriter = _LengthRecorder(self.perdocwriter)

    @property
    def memory(self) -> int:
        """About how many bytes the postings held so far take."""
        return self.pool.count * _POSTING_BYTES

    def add_document(self, **fields: Any) -> None:
        """Add one document, as Whoosh's ``SegmentWriter.add_document`` does, with its postings
        added to the pool directly (the schema has no term vectors or spelling fields)."""
        self._check_state()
        perdocwriter, schema, docnum = self.perdocwriter, self.schema, self.docnum
        terms = self.pool.terms
        docboost = self._doc_boost(fields)
        fieldnames = sorted(name for name in fields if not name.startswith("_"))
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields[fieldname]
                if value is None:
                    continue
                field = schema[fieldname]
                length = 0
                if field.indexed:
                    boost = self._field_boost(fields, fieldname, docboost)
                    items = field.index(value)
                    if not isinstance(items, list):
                        items = list(items)
                    for term, freq, weight, vbytes in items:
                        terms[fieldname, term].append((docnum, weight * boost, vbytes))
                        length += freq
                    self.pool.count += len(items)
                    if not field.scorable:
                        length = 0
                stored = fields.get(f"_stored_{fieldname}", value)
                perdocwriter.add_field(fieldname, field, stored if field.stored else None, length)
                if field.column_type and stored is not None:
                    column_value = field.to_column_value(stored)
                    perdocwriter.add_column_value(fieldname, field.column_type, column_value)
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _finalize_segment(self) -> Any:
        segment = super()._finalize_segment()
        # Whoosh's FileStorage.create keeps an exception, and with it the frames that made this
        # writer and its per-document writer: only the cycle collector frees them, and it is
        # off while a generation is written. So let go of what they hold (lengths, columns,
        # the term index) once the segment is on disk.
        self.perdocwriter._writer._cols = self.perdocwriter._writer._colwriters = None
        self.perdocwriter = self.fieldwriter = None
        return segment

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        self._write_postings()
        self.fieldwriter.close()

    def _write_postings(self) -> None:
        """Write every term's postings and its entry in the term index, as Whoosh's W3 field
        writer does posting by posting (``FieldWriter.add_postings``, ``W3PostingsWriter``,
        ``OrderedHashWriter.add``): the same bytes, written a few thousand terms at a time."""
        # Blocks as CODEC writes them: uncompressed, never inlined in the term index.
        assert CODEC._compression == 0 and CODEC._inlinelimit == 1
        fieldwriter = self.fieldwriter
        postfile, tindex = fieldwriter._postfile, fieldwriter._tindex
        offset, at = postfile.tell(), tindex.dbfile.tell()
        blocks: list[bytes] = []
        entries: list[bytes] = []
        terms = self.pool.terms
        fieldname = None
        for key in sorted(terms):
            if key[0] != fieldname:
                fieldname = key[0]
                fieldwriter.start_field(fieldname, self.schema[fieldname])
                prefix = pack_ushort(fieldwriter._fieldid)
                fixedsize = self.schema[fieldname].format.fixed_value_size()
                field_lengths = self.perdocwriter.lengths[fieldname]
            block, terminfo = _postings_blocks(terms[key], field_lengths, fixedsize)
            termkey = prefix + key[1]
            value = terminfo + pack_long(offset) + pack_int(len(block))
            entry = _ENTRY_LENGTHS.pack(len(termkey), len(value)) + termkey + value
            tindex.index.append(at)
            hashed = tindex.hashfn(termkey)
            tindex.buckets[hashed & 255].append((hashed, at))
            blocks.append(block)
            entries.append(entry)
            offset += len(block)
            at += len(entry)
            if len(blocks) >= 4096:
                postfile.write(b"".join(blocks))
                tindex.dbfile.write(b"".join(entries))
                blocks.clear()
                entries.clear()
        postfile.write(b"".join(blocks))
        tindex.dbfile.write(b"".join(entries))
        if terms:
            tindex.lastkey = termkey


def _postings_blocks(
    postings: list[tuple[int, float, bytes]], field_lengths: dict[int, int], fixedsize: int | None
) -> tuple[bytes, bytes]:
    """A term's postings as W3PostingsWriter writes them (a header, then blocks of
    CODEC._blocklimit postings) and the start of its W3TermInfo (before the extent)."""
    limit = CODEC._blocklimit
    chunks = [WHOOSH3_HEADER_MAGIC]
    total, minlength, maxlength, maxweight = 0, None, 0, 0
    last = len(postings) - limit
    for start in range(0, len(postings), limit):
        ids, weights, values = zip(*postings[start : start + limit], strict=True)
        found = [n for n in map(field_lengths.get, ids) if n]
        low, high = (min(found), max(found)) if found else (None, 0)
        top = max(weights)
        top = top if top > 0 else 0
        stored = array("f", weights)  # as Whoosh keeps them (single precision)
        total += sum(stored)
        if low is not None and (minlength is None or low < minlength):
            minlength = low
        maxlength, maxweight = max(maxlength, high), max(maxweight, top)
        if stored.count(1.0) == len(stored):
            weights = None
        elif stored.count(stored[0]) == len(stored):
            weights = stored[0]
        else:
            weights = tuple(stored)
        if fixedsize is None or fixedsize < 0:
            values = tuple(filter(None, values))
        else:
            values = b"".join(filter(None, values)) if fixedsize else None
        data = pickle.dumps((tuple(map(sub, ids, (0,) + ids[:-1])), weights, values), 2)
        info = (len(ids), ids[-1], top, 0, length_to_byte(low), length_to_byte(high))
        info = pickle.dumps(info, 2)
        size = len(info) + len(data)
        chunks += (pack_int(-size if start >= last else size), info, data)
    terminfo = W3TermInfo._struct.pack(
        False,
        total,
        len(postings),
        0 if minlength is None else length_to_byte(minlength),
        length_to_byte(maxlength),
        maxweight,
        postings[0][0],
        postings[-1][0],
    )
    return b"".join(chunks), terminfo


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
) -> tuple[Generation, int]:
    """Index ``articles`` into a new generation, then make it live; return it and its size.

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
    prune(data_dir, keep)
    generation = _new_generation(data_dir)
    writer = None
    try:
        ix = schema.open_index(generation.path)
        fields = ix.schema  # with the fast text fields (the index saves plain ones)
        writer = GenerationWriter(ix, fields)
        with _no_cycle_collection():
            if workers > 1:
                segments, lexicon = _write_in_workers(writer, articles, total, workers, progress)
            else:
                segments, lexicon = _write_segments(ix, fields, articles, WRITER_MEMORY, progress)
            writer.segments = segments  # this writer, holding the lock, lists them
            writer.commit(merge=False)
        count = sum(segment.doc_count_all() for segment in segments)
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
    GenerationWriter._finalize_segment) waits for the collector's next run."""
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
            writer.add_document(**schema.article_document(article))
            lexicon.add(article)
            if progress:
                progress(1)
            if writer.memory > memory:
                segments.append(writer._finalize_segment())
                writer = None
        if writer is not None:
            segments.append(writer._finalize_segment())
    except BaseException:
        if writer is not None and writer.perdocwriter is not None:
            with suppress(Exception):  # its files: the half-built generation goes as a whole
                writer._close_segment()
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
RUN_CHARS = 32 * 1024 * 1024  # text characters in one run at most (the articles in flight)


def _segment_worker(path: str, conn: Any, parent: int, memory: int) -> None:
    """A worker's loop: write each run of articles received as segments of at most about
    ``memory`` bytes of postings, and send them back with the run's lexicon, until None."""
    gc.disable()  # as in _no_cycle_collection, for the life of the worker
    try:
        ix = schema.open_index(path)
        fields = ix.schema
        while True:
            try:
                articles = conn.recv()
            except EOFError:  # the parent is gone
                return
            if articles is None:
                return
            segments, lexicon = _write_segments(ix, fields, articles, memory, parent=parent)
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


def update_live(data_dir: str | Path, articles: Iterable[Article]) -> int:
    """Add or replace ``articles`` in the live generation (creating the first one if needed).

    The caller holds :func:`write_lock`. Returns how many articles were written.
    """
    data_dir = Path(data_dir)
    live = live_generation(data_dir)
    if live is None:
        # The first articles of a data folder make its first generation (the faster writer).
        return build_generation(data_dir, articles)[1]
    ix = schema.open_index(live.path)
    count = 0
    lexicon = Lexicon.load(live.path)
    with ix.writer(limitmb=256, compound=False, codec=CODEC) as writer:
        if lexicon is None:  # an index made before lexicons, or a damaged one: count again
            with ix.searcher() as searcher:
                lexicon = Lexicon.of_index(searcher)
        for article in articles:
            writer.update_document(**schema.article_document(article))
            lexicon.add(article)
            count += 1
        # Before the commit makes the new articles visible, so no reader sees them without it.
        lexicon.save(live.path)
    return count
