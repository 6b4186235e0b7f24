"""The document sets and word scores of one version of an index, cached for every query.

Sets are bitsets (search.engine.bitsets). A word's scores are arrays of its documents and their
BM25 scores. Every cache is bounded by memory and dropped with its version of the index.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from whoosh import query
from whoosh.reading import TermNotFound
from whoosh.scoring import Frequency

from search.engine import postings, schema, scoring, topk
from search.engine.bitsets import bits_of, docnum_array, packed
from search.engine.columns import Columns
from search.engine.facets import Facets
from search.engine.results import FacetCount

logger = logging.getLogger(__name__)

# Memory for cached posting sets (bitsets) per process: thousands of words of a large corpus.
TERM_CACHE_BYTES = 64 * 1024 * 1024
# Memory for cached matches of phrases, wildcards and ranges (bitsets) per process.
QUERY_CACHE_BYTES = 16 * 1024 * 1024
# Memory for cached word scores per process: 12 bytes a posting and about 600 an entry (the
# arrays, the key, the dictionary). Every word of Reuters-21578's searched fields (70,000
# words, 1.4 million postings) takes about 60 MB.
SCORE_CACHE_BYTES = 256 * 1024 * 1024
_ENTRY_BYTES = 600
# Terms whose places in the segments' tables are kept (about 100 bytes a segment each).
PLACE_CACHE_TERMS = 20_000
# Body words whose index-wide counts feedback keeps (about 100 bytes each).
FREQUENCY_CACHE_WORDS = 100_000
# Queries whose expansion by feedback is kept (a few kilobytes each).
EXPANSION_CACHE_QUERIES = 4096


def score_bytes(entry: tuple[np.ndarray, np.ndarray]) -> int:
    """What one word's cached scores cost in memory."""
    docs, values = entry
    return docs.nbytes + values.nbytes + _ENTRY_BYTES


def _flat_arrays(reader) -> tuple[dict[int, postings.SegmentPostings | None], set[int]]:
    """Each segment's flat arrays by its first document number (None: it has none), and the
    numbers of the segments that the generation's merged arrays stand for, but the first."""
    leaves = reader.leaf_readers()
    segments = [
        (segment.segment().segment_id(), segment.doc_count_all())
        for segment, _ in leaves
        if segment.segment() is not None
    ]
    folder = getattr(leaves[0][0].storage(), "folder", None) if segments else None
    merged = postings.open_merged(Path(folder), segments) if folder else None
    covers = len(merged.covers) if merged is not None else 0
    flat = {offset: postings.open_for(segment) for segment, offset in leaves[covers:]}
    if merged is not None:
        flat[0] = merged
    return flat, {offset for _, offset in leaves[1:covers]}


def _unscored_docs(segments, q: query.Query) -> np.ndarray:
    """The documents ``q`` matches in ``segments`` (searchers and their offsets), by Whoosh's
    matchers without scores: its own unscored search still gives each word a scorer, and
    ours asks every segment of the index for the word's idf."""
    found = [np.zeros(0, dtype=np.int64)]
    for segment, offset in segments:
        context = segment.context(needs_current=False, weighting=Frequency())
        docs = np.fromiter(q.matcher(segment, context).all_ids(), dtype=np.int64)
        found.append(docs + offset)
    return np.concatenate(found)


class DocSets:
    """Cached document sets of one version of the index, shared by a process's threads.

    Dropped as soon as the index changes, so nothing here outlives the document numbers it
    describes.
    """

    def __init__(self, reader):
        self.size = reader.doc_count_all()
        # Each segment's flat arrays (search.engine.postings), by its first document number;
        # None for a segment Whoosh's own writer made. The generation's merged arrays stand
        # for its first segments (under the first one's number; the others are "covered").
        self._flat, self._covered = _flat_arrays(reader)
        self._schema = reader.schema
        self._term_places: dict[tuple[str, str], dict[int, int]] = {}
        # Each part's deleted documents (numbered within it), by its first document number.
        self._deleted: dict[int, np.ndarray] = {}
        alive = np.ones(self.size, dtype=bool)
        part = 0  # (the part a covered segment belongs to: the merged arrays')
        for segment, offset in reader.leaf_readers():
            part = part if offset in self._covered else offset
            if segment.has_deletions():
                deleted = np.fromiter(segment.deleted_docs_set, dtype=np.int64) + offset
                alive[deleted] = False
                known = self._deleted.get(part, np.zeros(0, dtype=np.int64))
                self._deleted[part] = np.concatenate((known, deleted - part))
        self.all = packed(alive)
        self.alive = np.flatnonzero(alive)  # (the same documents, in order)
        self._terms: dict[tuple[str, str], int] = {}
        self._term_bytes = 0
        self._scores: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        self._score_bytes = 0
        self.lock = threading.Lock()  # for the caches' bookkeeping (eviction iterates them)
        self._matches: dict[query.Query, int] = {}
        self._facets: Facets | None = None
        self._everything: dict[str, list[FacetCount]] | None = None
        self._lengths: dict[str, np.ndarray] = {}  # by field: every document's, -1 unread
        self._decoded: list[tuple[int, np.ndarray]] = []  # the latest bitsets' documents
        self._frequencies: dict[str, int] = {}  # body word -> its count in the whole index
        self._idf: dict[tuple[str, str], float] = {}
        self._figures: dict[str, scoring.FieldFigures | None] = {}
        self._shortest_lengths: dict[str, float] = {}
        self._expansions: dict[tuple, query.Query] = {}
        # Each document's dates and numeric columns (read once).
        self.columns = Columns(self)

    @property
    def score_cache_bytes(self) -> int:
        """What the cached word scores take in memory, by their own count."""
        return self._score_bytes

    def score_cache_entries(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The cached word scores: each word's documents and scores."""
        with self.lock:
            return list(self._scores.values())

    def parts(self, leaves):
        """(segment, its first document number, its flat arrays or None) of each part of the
        index: the segments, those the merged arrays stand for as one (under the first)."""
        for segment, offset in leaves:
            if offset not in self._covered:
                yield segment, offset, self._flat.get(offset)

    def _alive(self, offset: int, docs: np.ndarray) -> np.ndarray | None:
        """Which of some documents of the segment that starts at ``offset`` (numbered within
        it) are not deleted, as a mask; None when the segment has no deletions."""
        deleted = self._deleted.get(offset)
        return None if deleted is None else ~np.isin(docs, deleted)

    def _places(self, fieldname: str, text: str) -> dict[int, int]:
        """Where each segment with flat arrays that holds a term keeps it: its place in the
        segment's table, by the segment's first document number (cached: a word's scores,
        set and frequencies each ask)."""
        key = (fieldname, text)
        found = self._term_places.get(key)
        if found is None:
            wanted = postings.term(fieldname, self._schema[fieldname].to_bytes(text))
            found = {}
            for offset, flat in self._flat.items():
                place = None if flat is None else flat.place(wanted)
                if place is not None:
                    found[offset] = place
            with self.lock:
                if len(self._term_places) >= PLACE_CACHE_TERMS:
                    self._term_places.clear()
                self._term_places[key] = found
        return found

    def _flat_postings(self, offset: int, fieldname: str, text: str):
        """A term's postings in a segment from its flat arrays, deleted documents left out:
        (documents numbered within the segment, weights), or None when the segment has no
        flat arrays."""
        flat = self._flat.get(offset)
        if flat is None:
            return None
        docs, weights = flat.postings_at(self._places(fieldname, text).get(offset))
        alive = self._alive(offset, docs)
        if alive is not None:
            docs, weights = docs[alive], weights[alive]
        return docs, weights

    def term_docs(self, reader, fieldname: str, text: str) -> np.ndarray:
        """The documents holding a term, in every segment of ``reader``."""
        found = [np.zeros(0, dtype=np.int64)]
        for segment, offset, _ in self.parts(reader.leaf_readers()):
            flat = self._flat_postings(offset, fieldname, text)
            if flat is not None:
                found.append(flat[0] + offset)
                continue
            try:
                found.append(postings.read_matcher(segment.postings(fieldname, text))[0] + offset)
            except TermNotFound:
                continue
        return np.concatenate(found)

    def term(self, reader, fieldname: str, text: str) -> int:
        """The documents holding a term (cached: popular words recur across queries)."""
        key = (fieldname, text)
        bits = self._terms.get(key)
        if bits is None:
            bits = bits_of(self.term_docs(reader, fieldname, text), self.size)
            with self.lock:
                self._term_bytes += self.size // 8
                while self._terms and self._term_bytes > TERM_CACHE_BYTES:
                    self._terms.pop(next(iter(self._terms)))  # the oldest entry
                    self._term_bytes -= self.size // 8
                self._terms[key] = bits
        return bits

    def union(self, reader, terms: list[tuple[str, str]]) -> int:
        """The documents holding any of some terms: the cached sets of those known, and the
        others' documents marked in one array (an unseen query's words are not each made a
        set of their own)."""
        bits, marks = 0, None
        for fieldname, text in terms:
            known = self._terms.get((fieldname, text))
            if known is not None:
                bits |= known
                continue
            if marks is None:
                marks = np.zeros(self.size, dtype=bool)
            marks[self.term_docs(reader, fieldname, text)] = True
        return bits if marks is None else bits | packed(marks)

    def frequencies(self, reader, fieldname: str, text: str) -> tuple[int, float]:
        """How many documents hold a term and how many times it occurs, in the whole index
        (deleted documents included, as Whoosh counts them)."""
        documents, occurrences = 0, 0.0
        for segment, offset, flat in self.parts(reader.leaf_readers()):
            if flat is not None:
                # (deleted documents included)
                _, weights = flat.postings_at(self._places(fieldname, text).get(offset))
                found = len(weights), float(weights.sum(dtype=np.float64))
            else:
                found = segment.doc_frequency(fieldname, text), segment.frequency(fieldname, text)
            documents, occurrences = documents + found[0], occurrences + found[1]
        return documents, occurrences

    def idf(self, reader, fieldname: str, text: str) -> float:
        """A word's idf in a field (search.engine.scoring.news_idf; cached with the scores)."""
        key = scoring.idf_key(fieldname, text)
        found = self._idf.get(key)
        if found is None:
            found = scoring.news_idf(
                lambda name, word: self.frequencies(reader, name, word)[0],
                reader.doc_count_all(),
                fieldname,
                text,
            )
            with self.lock:
                if len(self._idf) >= FREQUENCY_CACHE_WORDS:
                    self._idf.clear()
                self._idf[key] = found
        return found

    def frequency(self, reader, word: str) -> int:
        """How many times ``word`` occurs in the bodies of the whole index (cached: feedback
        asks for the words of its matches, and the common ones recur)."""
        count = self._frequencies.get(word)
        if count is None:
            count = self.frequencies(reader, schema.BODY, word)[1]
            with self.lock:
                if len(self._frequencies) >= FREQUENCY_CACHE_WORDS:
                    self._frequencies.clear()
                self._frequencies[word] = count
        return count

    def expanded(self, key: tuple, expand: Callable[[], query.Query]) -> query.Query:
        """A query as pseudo-relevance feedback rescored it (cached by ``key``, the query and
        the filters that narrow its matches: a popular search, or its next page, is not
        expanded again; the least recently used go first)."""
        with self.lock:
            found = self._expansions.pop(key, None)
            if found is not None:
                self._expansions[key] = found  # (the most recently used last)
                return found
        found = expand()
        with self.lock:
            if len(self._expansions) >= EXPANSION_CACHE_QUERIES:
                self._expansions.pop(next(iter(self._expansions)))  # the least recently used
            self._expansions[key] = found
        return found

    def matches(self, searcher, q: query.Query) -> int:
        """The documents a phrase, wildcard or range matches, by Whoosh (the latest cached: a
        phrase is read once for the total and again where it gates its words' scores)."""
        bits = self._matches.get(q)
        if bits is None:
            found = self._phrase(searcher, q) if type(q) is query.Phrase else None
            if found is None:
                found = _unscored_docs(searcher.leaf_searchers(), q)
            bits = bits_of(found, self.size)
            with self.lock:
                while self._matches and len(self._matches) * self.size // 8 > QUERY_CACHE_BYTES:
                    self._matches.pop(next(iter(self._matches)))
                self._matches[q] = bits
        return bits

    def _phrase(self, searcher, q: query.Phrase) -> np.ndarray | None:
        """The documents holding an exact phrase (slop 1), from the segments' positions (by
        Whoosh in a segment that keeps none); None for any other phrase."""
        if q.slop != 1 or q.fieldname not in searcher.schema:
            return None
        places = [self._places(q.fieldname, word) for word in q.words]
        found = [np.zeros(0, dtype=np.int64)]
        for segment, offset, flat in self.parts(searcher.leaf_searchers()):
            held = [where.get(offset) for where in places]
            docs = None if flat is None else flat.phrase(q.fieldname, held)
            if docs is None:
                docs = _unscored_docs([(segment, 0)], q)
            else:
                alive = self._alive(offset, docs)
                docs = docs if alive is None else docs[alive]
            found.append(docs + offset)
        return np.concatenate(found)

    def term_scores(self, searcher, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The documents holding a term and the score Whoosh's matcher gives each (cached;
        the least recently used terms go first)."""
        key = (fieldname, text)
        with self.lock:
            found = self._scores.pop(key, None)
            if found is not None:
                self._scores[key] = found
                return found
        word = self._bm25_postings(searcher, fieldname, text)
        if word is not None:
            docs, weights, lengths, idf, figures = word
            # (a copy: the cache's memory is its own, not a view of the mapped file)
            values = scoring.bm25_scores(idf, figures, weights.astype(float), lengths[docs])
            found = (np.array(docs), values)
        else:  # (any model but BM25 scores posting by posting)
            found = self._matcher_scores(searcher, fieldname, text)
        with self.lock:
            if key not in self._scores:
                self._score_bytes += score_bytes(found)
                self._scores[key] = found
            while len(self._scores) > 1 and self._score_bytes > SCORE_CACHE_BYTES:
                self._score_bytes -= score_bytes(self._scores.pop(next(iter(self._scores))))
        return found

    def word(self, searcher, fieldname: str, text: str, boost: float) -> topk.Word | None:
        """A term's documents, a bound on its boosted scores, and its scores computed only
        for the documents asked about (search.engine.topk): from its cached scores when they
        are known, else from its postings; None when it is neither and the field is not
        ranked by BM25."""
        with self.lock:
            cached = self._scores.pop((fieldname, text), None)
            if cached is not None:
                self._scores[(fieldname, text)] = cached  # (the most recently used last)
        if cached is not None:
            docs, values = cached
            bound = float(values.max(initial=0.0)) * boost
            return topk.Word(docs, boost, bound, values.__getitem__)
        word = self._bm25_postings(searcher, fieldname, text)
        if word is None:
            return None
        docs, weights, lengths, idf, figures = word
        # (a score grows with the weight and falls with the length, and a document holding
        # the word has a length of at least 1 in the field)
        top = float(weights.max(initial=0.0))
        bound = scoring.bm25_scores(idf, figures, top, self._shortest(fieldname)) * boost

        def score(places: np.ndarray) -> np.ndarray:
            return scoring.bm25_scores(
                idf, figures, weights[places].astype(float), lengths[docs[places]]
            )

        return topk.Word(docs, boost, float(bound), score)

    def _shortest(self, fieldname: str) -> float:
        """The shortest length in a field of a document that holds anything in it: at least
        1, and 1 while segments without flat arrays have lengths not yet read."""
        shortest = self._shortest_lengths.get(fieldname)
        if shortest is None:
            lengths = self._all_lengths(fieldname)
            found = lengths[lengths > 0]
            shortest = max(1.0, float(found.min())) if len(found) else 1.0
            if any(flat is None for flat in self._flat.values()):
                shortest = 1.0
            self._shortest_lengths[fieldname] = shortest
        return shortest

    def _bm25_postings(self, searcher, fieldname: str, text: str):
        """A term's documents (all segments, deleted ones left out), their weights, every
        document's length in the field (read for these), the term's idf and the field's BM25
        figures; None when the field is not ranked by BM25."""
        if fieldname not in self._figures:  # (the same for every word of a field)
            self._figures[fieldname] = scoring.bm25_figures(searcher, fieldname)
        figures = self._figures[fieldname]
        if not figures:
            return None
        lengths = self._all_lengths(fieldname)
        docs, weights = [], []
        for segment, offset, _ in self.parts(searcher.leaf_searchers()):
            flat = self._flat_postings(offset, fieldname, text)
            if flat is None:
                reader = segment.reader()
                if (fieldname, text) not in reader:
                    continue  # (not in this segment)
                # (the raw postings: a scorer would ask every segment for the word's idf)
                ids, found = postings.read_matcher(reader.postings(fieldname, text))
                self._read_lengths(lengths, segment, offset, fieldname, ids)
                flat = ids.astype(np.int32), found
            docs.append(flat[0] + np.int32(offset) if offset else flat[0])
            weights.append(flat[1])
        if len(docs) != 1:
            docs = [np.concatenate([np.zeros(0, dtype=np.int32), *docs])]
            weights = [np.concatenate([np.zeros(0, dtype=np.float32), *weights])]
        idf = self.idf(searcher.reader(), fieldname, text)
        return docs[0], weights[0], lengths, idf, figures

    def _matcher_scores(self, searcher, fieldname: str, text: str):
        """A term's documents and scores by Whoosh's matchers, posting by posting."""
        docs, values = [np.zeros(0, dtype=np.int32)], [np.zeros(0)]
        term, context = query.Term(fieldname, text), searcher.context()
        for segment, offset, _ in self.parts(searcher.leaf_searchers()):
            matcher = term.matcher(segment, context)
            listed, scored = [], []
            while matcher.is_active():
                listed.append(matcher.id())
                scored.append(matcher.score())
                matcher.next()
            docs.append(np.array(listed, dtype=np.int32) + offset)
            values.append(np.array(scored, dtype=float))
        return np.concatenate(docs), np.concatenate(values)

    def _all_lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in a field, as Whoosh stores it: from the flat arrays of
        the segments that have them (at once), -1 for the others' until read."""
        lengths = self._lengths.get(fieldname)
        if lengths is None:
            lengths = np.full(self.size, -1.0)
            for offset, flat in self._flat.items():
                found = None if flat is None else flat.lengths(fieldname)
                if found is not None:
                    lengths[offset : offset + len(found)] = found
                elif flat is not None:
                    lengths[offset : offset + flat.size] = 0
            with self.lock:
                lengths = self._lengths.setdefault(fieldname, lengths)
        return lengths

    @staticmethod
    def _read_lengths(lengths: np.ndarray, segment, offset: int, fieldname: str, docs) -> None:
        """Read from Whoosh, into ``lengths`` (every document's), the lengths not yet read of
        some documents of a segment without flat arrays (numbered within it): each once, when
        first asked for, so that the first query after a change reads only what it needs."""
        for doc in docs[lengths[docs + offset] < 0].tolist():
            lengths[doc + offset] = segment.doc_field_length(doc, fieldname) or 0

    def facets(self, reader, matched: int) -> dict[str, list[FacetCount]]:
        """The top values of each facet, counted over the documents in ``matched``."""
        if matched == self.all and self._everything is not None:
            return self._everything
        if self._facets is None:
            self._facets = Facets(list(self.parts(reader.leaf_readers())), self.alive)
        docs = self.docnums(matched)
        counts = self._facets.top(docs, lambda: self.docnums(self.all & ~matched))
        if matched == self.all:
            self._everything = counts
        return counts

    def docnums(self, bits: int) -> np.ndarray:
        """The documents of a bitset, in order (the latest two kept: a search's facets,
        timeline and newest matches ask for its matches, or for the rest of the index)."""
        for known, docs in self._decoded:
            if known is bits or known == bits:
                return docs
        docs = docnum_array(bits, self.size)
        docs.flags.writeable = False  # (shared by threads and callers: a write would be a bug)
        self._decoded = [(bits, docs), *self._decoded[:1]]
        return docs
