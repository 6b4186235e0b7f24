"""Index generations: build one beside the live one, switch atomically, add to the live one."""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.codec.whoosh3 import W3Codec
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from search import schema
from search.article import Article
from search.lexicon import Lexicon

logger = logging.getLogger(__name__)

GENERATIONS_DIR = "generations"
LIVE_FILE = "LIVE"  # holds the name of the live generation; replaced atomically
LOCK_FILE = "write.lock"
_PREFIX = "gen-"
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

# Bytes a posting costs in memory, roughly (its tuple, its list slot, its encoded positions).
_POSTING_BYTES = 160


class _MemoryPool:
    """Postings grouped by (field, term) in the order they are added."""

    def __init__(self) -> None:
        self.terms: defaultdict[tuple[str, bytes], list[tuple[int, float, bytes]]] = defaultdict(
            list
        )
        self.count = 0

    def add(self, item: tuple[str, bytes, int, float, bytes]) -> None:
        fieldname, btext, docnum, weight, vbytes = item
        self.terms[fieldname, btext].append((docnum, weight, vbytes))
        self.count += 1

    def iter_postings(self):
        """Every posting in (field, term, document) order, as Whoosh's field writer takes them."""
        terms = self.terms
        for key in sorted(terms):
            fieldname, btext = key
            for docnum, weight, vbytes in terms[key]:
                yield fieldname, btext, docnum, weight, vbytes

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

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        # None for an empty field, as Whoosh's reader answers.
        return self.lengths[fieldname].get(docnum)


class GenerationWriter(SegmentWriter):
    """Writes one segment of new documents into an index that has no other writer.

    Not for updates: it never merges segments or deletes documents. Its memory grows with the
    postings it holds; :attr:`memory` estimates it, so a caller can commit and carry on with a
    new writer.
    """

    def __init__(self, ix: Any, schema: Any):
        super().__init__(ix, compound=False, codec=CODEC)
        self.schema = schema  # the index's own, or one with faster fields that index alike
        self.pool = _MemoryPool()
        self.perdocwriter = _LengthRecorder(self.perdocwriter)

    @property
    def memory(self) -> int:
        """About how many bytes the postings held so far take."""
        return self.pool.count * _POSTING_BYTES

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        self.fieldwriter.add_postings(self.schema, self.perdocwriter, self.pool.iter_postings())
        self.fieldwriter.close()


class WriterBusy(Exception):
    """Another process holds the data folder's write lock for longer than we may wait."""


class IndexMissing(Exception):
    """The data folder has no live index generation yet."""


@dataclass(frozen=True)
class Generation:
    """One index generation on disk."""

    name: str
    path: Path


def generations_dir(data_dir: Path) -> Path:
    """Return the folder that holds the generations of ``data_dir``."""
    return Path(data_dir) / GENERATIONS_DIR


def live_generation(data_dir: str | Path) -> Generation | None:
    """Return the live generation of ``data_dir``, or None before the first index is built."""
    try:
        name = (Path(data_dir) / LIVE_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return Generation(name, generations_dir(Path(data_dir)) / name)


def list_generations(data_dir: str | Path) -> list[Generation]:
    """Return the generations on disk, oldest first (complete or not)."""
    folder = generations_dir(Path(data_dir))
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith(_PREFIX))
    return [Generation(n, folder / n) for n in names]


def open_generation(generation: Generation):
    """Open a generation's Whoosh index (for the searcher)."""
    return whoosh_index.open_dir(str(generation.path))


@contextmanager
def write_lock(data_dir: str | Path, timeout: float) -> Iterator[None]:
    """Hold the data folder's single write lock, waiting up to ``timeout`` seconds.

    The lock is an ``flock``: the kernel drops it when its holder dies, so a killed ingest or
    reindex never leaves a stale lock behind.

    Raises:
        WriterBusy: another ingest or reindex kept the lock for the whole wait.
    """
    path = Path(data_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterBusy(
                        f"another ingest or reindex is writing to {data_dir} "
                        f"(waited {timeout:g} s); try again when it has finished"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _switch_live(data_dir: Path, name: str) -> None:
    """Point LIVE at generation ``name`` atomically (write a temporary file, fsync, rename)."""
    tmp = data_dir / f".{LIVE_FILE}.tmp"
    with open(tmp, "w") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, data_dir / LIVE_FILE)
    dir_fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _prune(data_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` generations up to the live one, and any newer debris.

    Called with the write lock held, so no other writer is building a generation. The previous
    generations are kept so that a web process still reading one finishes its request.
    """
    live = live_generation(data_dir)
    for generation in list_generations(data_dir):
        if live is None or generation.name > live.name:
            # Left by a reindex (or a first ingest) that failed or was killed before switching.
            shutil.rmtree(generation.path, ignore_errors=True)
    complete = [g for g in list_generations(data_dir) if live and g.name <= live.name]
    for generation in complete[: max(0, len(complete) - keep)]:
        shutil.rmtree(generation.path, ignore_errors=True)


def _new_generation(data_dir: Path) -> Generation:
    existing = list_generations(data_dir)
    number = int(existing[-1].name[len(_PREFIX) :]) + 1 if existing else 1
    name = f"{_PREFIX}{number:06d}"
    path = generations_dir(data_dir) / name
    path.mkdir(parents=True)
    whoosh_index.create_in(str(path), schema.create_schema())
    return Generation(name, path)


def build_generation(
    data_dir: str | Path,
    articles: Iterable[Article],
    keep: int = 2,
    progress: Callable[[int], None] | None = None,
) -> tuple[Generation, int]:
    """Index ``articles`` into a new generation, then make it live; return it and its size.

    The caller holds :func:`write_lock`. Until the final switch the live generation is
    untouched: an error (or a kill) leaves it serving and the half-built one is removed.
    """
    data_dir = Path(data_dir)
    _prune(data_dir, keep)
    generation = _new_generation(data_dir)
    count = 0
    writer = None
    lexicon = Lexicon()
    try:
        ix = whoosh_index.open_dir(str(generation.path))
        fields = schema.create_schema()  # with the fast text fields (the index saves plain ones)
        writer = GenerationWriter(ix, fields)
        for article in articles:
            writer.add_document(**schema.article_document(article))
            lexicon.add(article)
            count += 1
            if progress:
                progress(1)
            if writer.memory > WRITER_MEMORY:
                # A segment at a time keeps memory bounded on a large corpus.
                writer.commit(merge=False)
                writer = GenerationWriter(ix, fields)
        writer.commit(merge=False)
        lexicon.save(generation.path)
    except BaseException:
        if writer is not None and not writer.is_closed:
            with suppress(Exception):  # the original error is the one to report
                writer.cancel()
        shutil.rmtree(generation.path, ignore_errors=True)
        raise
    _switch_live(data_dir, generation.name)
    logger.info("generation %s is live with %d articles", generation.name, count)
    _prune(data_dir, keep)
    return generation, count


def update_live(data_dir: str | Path, articles: Iterable[Article]) -> int:
    """Add or replace ``articles`` in the live generation (creating the first one if needed).

    The caller holds :func:`write_lock`. Returns how many articles were written.
    """
    data_dir = Path(data_dir)
    live = live_generation(data_dir)
    if live is None:
        # The first articles of a data folder make its first generation (the faster writer).
        return build_generation(data_dir, articles)[1]
    ix = whoosh_index.open_dir(str(live.path))
    count = 0
    lexicon = Lexicon.load(live.path)
    with ix.writer(limitmb=256, compound=False, codec=CODEC) as writer:
        writer.schema = schema.create_schema()  # the fast fields (the index saves plain ones)
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
