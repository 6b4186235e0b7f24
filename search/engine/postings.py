"""Each segment's postings, field lengths and dates as flat arrays, read through a memory map.

Whoosh keeps a term's postings in blocks of 128, each block a pickled tuple of Python numbers:
reading a word that a third of the documents hold unpickles thousands of blocks, and a
document's field length or date is a call per document. That was most of the time of a query
the process had not seen before, at 100,000 articles. So the segment writer
(search.engine.segments) also writes, beside Whoosh's files, one file of arrays per segment:

- every term's document numbers (int32) and weights (float32), the same values as its
  Whoosh postings, found through a sorted table of 64-bit hashes of (field, term), each
  checked against the term's own bytes;
- every position of every term of the fields with positions, in posting order (exact
  phrases are matched from them);
- every scored field's length in each document, as Whoosh stores it (to a byte);
- each numeric column (the publication date in ticks), and each document's facet values.

The file is named like the segment's other files, so Whoosh deletes it with the segment; once
a generation is written, its segments' files are merged into one (search.engine.merged,
``MERGED``), read the same way. Segments that Whoosh's own writer made (small updates, merges
of them) have none and are read through Whoosh; deleted documents are left out by the reader
here, as Whoosh's matchers leave them out. A file that cannot be read is passed over with a
warning: Whoosh's own files answer the same, only slower.

Layout: ``MAGIC``, the header's length (8 bytes, little-endian), the header (JSON: each
array's name, dtype, offset and length; the facet values; the segments a merged file stands
for), then the arrays, each at an 8-byte boundary.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
from collections.abc import Iterable
from functools import reduce
from itertools import chain
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher

logger = logging.getLogger(__name__)

SUFFIX = ".postings"
MAGIC = b"NEWS-POSTINGS-2\n"
_HASHES, _KEYS, _KEY_ENDS, _STARTS, _IDS, _WEIGHTS = (
    "hashes",
    "keys",
    "key_ends",
    "starts",
    "ids",
    "weights",
)
_LENGTH, _COLUMN, _POSITIONS, _BASES = "length:", "column:", "positions:", "position_bases"
_FACET_STARTS, _FACET_CODES = "facet_starts", "facet_codes"
# Keys of (document, position) in phrase matching: the document's index times this, plus its
# position (positions are less than 2**31).
_DOCUMENT_KEY = 2**32


class Term(NamedTuple):
    """A term as the tables find it: its key (field and term) and the key's 64-bit hash."""

    key: bytes
    hashed: int


def term(fieldname: str, termbytes: bytes) -> Term:
    """A field's term (as Whoosh's bytes), ready to be found in any segment's table."""
    key = fieldname.encode("utf-8") + b"\x00" + termbytes
    return Term(key, _hash(key))


def _hash(key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


def write(
    path: str | Path,
    terms: list[tuple[str, bytes, int]],
    ids: np.ndarray,
    weights: np.ndarray,
    lengths: dict[str, np.ndarray],
    columns: dict[str, np.ndarray],
    sequences: dict[str, list[tuple[int, list[bytes]]]],
    facet_fields: tuple[str, ...],
    size: int,
) -> None:
    """Write the file of a segment of ``size`` documents: ``terms`` are (field, term, posting
    count) in key order, as their postings are concatenated in ``ids`` and ``weights``;
    ``lengths`` and ``columns`` hold a value per document; ``sequences`` each document's terms
    in order (stop words left out), in the fields with positions, by document; the values of
    ``facet_fields`` are kept document by document too."""
    found = [term(fieldname, termbytes) for fieldname, termbytes, _ in terms]
    keys = [item.key for item in found]
    counts = np.fromiter((count for _, _, count in terms), dtype=np.int64, count=len(terms))
    starts = np.concatenate(([0], np.cumsum(counts)))
    hashes = np.fromiter((item.hashed for item in found), dtype=np.uint64, count=len(keys))
    order = np.argsort(hashes, kind="stable")
    blob = np.frombuffer(b"".join(keys[i] for i in order.tolist()), dtype=np.uint8)
    key_ends = np.cumsum([len(keys[i]) for i in order.tolist()], dtype=np.int64)
    arrays: dict[str, np.ndarray] = {
        _HASHES: hashes[order],
        _KEYS: blob,
        _KEY_ENDS: key_ends,
        # Each term's first and end posting, in the order of the hashes.
        _STARTS: np.stack((starts[:-1][order], starts[1:][order]), axis=1),
        _IDS: np.ascontiguousarray(ids, dtype=np.int32),
        _WEIGHTS: np.ascontiguousarray(weights, dtype=np.float32),
    }
    bases = np.full(len(terms), -1, dtype=np.int64)
    for fieldname, documents in sequences.items():
        arrays[_POSITIONS + fieldname] = _positions(fieldname, terms, documents, bases)
    arrays[_BASES] = bases[order]
    arrays.update({_LENGTH + name: values.astype(np.float32) for name, values in lengths.items()})
    arrays.update({_COLUMN + name: values for name, values in columns.items()})
    facets = [(i, name, value) for i, (name, value, _) in enumerate(terms) if name in facet_fields]
    values = (arrays[_IDS][starts[i] : starts[i + 1]] for i, _, _ in facets)
    arrays[_FACET_STARTS], arrays[_FACET_CODES] = by_document(values, size)
    _write_arrays(path, arrays, [[name, value.decode("utf-8")] for _, name, value in facets], [])


class _Later(NamedTuple):
    """An array made only when it is written: its type, its length and what makes it."""

    dtype: Any
    length: int
    make: Any


def _write_arrays(path, arrays: dict, facets: list, covers: list) -> None:
    """Write a file of arrays (the layout in this module's docstring); a :class:`_Later` is
    made when its turn comes."""
    header: dict[str, Any] = {
        "arrays": {},
        # Each facet code's field and value, fields and values in key order.
        "facets": facets,
        # The segments (id, documents) a generation's merged file stands for, in order.
        "covers": covers,
    }
    offset = 0
    for name, array in arrays.items():
        if isinstance(array, _Later):
            dtype, length, shape = np.dtype(array.dtype), array.length, []
        else:
            dtype, length, shape = array.dtype, len(array), list(array.shape[1:])
        header["arrays"][name] = [dtype.str, offset, length, shape]
        nbytes = length * int(np.prod(shape or [1])) * dtype.itemsize
        offset += -(-nbytes // 8) * 8
    encoded = json.dumps(header).encode("utf-8")
    encoded += b" " * (-(len(MAGIC) + 8 + len(encoded)) % 8)
    with open(path, "wb") as out:
        out.write(MAGIC + len(encoded).to_bytes(8, "little") + encoded)
        for array in arrays.values():
            if isinstance(array, _Later):
                array = array.make().astype(array.dtype, copy=False)
            data = memoryview(np.ascontiguousarray(array)).cast("B")
            out.write(data)
            out.write(b"\x00" * (-len(data) % 8))
            del array, data


MERGED = "generation.postings"


def by_document(holders: Iterable[np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """Which values each of ``size`` documents holds, from the documents holding each value
    (value i's are the i-th array of ``holders``): (starts, codes), document d's values being
    ``codes[starts[d]:starts[d + 1]]``."""
    docs, codes = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int32)]
    for code, holding in enumerate(holders):
        docs.append(holding)
        codes.append(np.full(len(holding), code, dtype=np.int32))
    found = np.concatenate(docs)
    order = np.argsort(found, kind="stable")
    return np.searchsorted(found[order], np.arange(size + 1)), np.concatenate(codes)[order]


def _common(few: np.ndarray, many: np.ndarray) -> np.ndarray:
    """The values of ``few`` that ``many`` holds too, both sorted without repeats (a binary
    search each: no sort of both, as numpy's intersect1d does)."""
    if not len(few) or not len(many):
        return few[:0]
    if len(few) > len(many):
        few, many = many, few
    at = np.minimum(np.searchsorted(many, few), len(many) - 1)
    return few[many[at] == few]


def joined(parts, code_of: dict) -> tuple[np.ndarray, np.ndarray]:
    """The values documents hold, for several parts of an index one after another: each part
    (labels, starts, codes) as :func:`by_document` gives them, its codes places in its
    ``labels``, which ``code_of`` maps to the codes of the whole. Returns (starts, codes)."""
    starts, codes, base = [], [np.zeros(0, dtype=np.int32)], 0
    for labels, first, local in parts:
        mapped = np.array([code_of[tuple(label)] for label in labels] or [0], dtype=np.int32)
        codes.append(mapped[local])
        starts.append(first[:-1] + base)
        base += len(local)
    return np.concatenate([*starts, [base]]), np.concatenate(codes)


def runs(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The places of several runs of an array, one run after another: start, start + 1, ...,
    start + length - 1 of each."""
    ends = np.cumsum(lengths)
    total = int(ends[-1]) if len(ends) else 0
    return np.arange(total) + np.repeat(starts - ends + lengths, lengths)


def _positions(fieldname: str, terms, documents, bases: np.ndarray) -> np.ndarray:
    """Every position of every term of a field, term by term in the order of ``terms``, then
    by document and position (the order of the term's postings); ``bases`` gets each term's
    first place in it."""
    ordinals = {term: i for i, (name, term, _) in enumerate(terms) if name == fieldname}
    counts = np.fromiter((len(kept) for _, kept in documents), dtype=np.int64, count=len(documents))
    total = int(counts.sum())
    words = chain.from_iterable(kept for _, kept in documents)
    tokens = np.fromiter(map(ordinals.__getitem__, words), dtype=np.int64, count=total)
    # Each word's place in its document (Whoosh numbers them from the first kept word on;
    # only their differences matter here).
    places = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    occurrences = np.bincount(tokens, minlength=len(terms))
    firsts = np.cumsum(occurrences) - occurrences
    mine = np.fromiter(ordinals.values(), dtype=np.int64, count=len(ordinals))
    bases[mine] = firsts[mine]
    return places[np.argsort(tokens, kind="stable")].astype(np.uint32)


class SegmentPostings:
    """One segment's file of arrays, mapped into memory (shared with the page cache)."""

    def __init__(self, path: str | Path):
        with open(path, "rb") as source:
            self._map = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ)
        if self._map[: len(MAGIC)] != MAGIC:
            raise ValueError(f"{path} is not a postings file")
        size = int.from_bytes(self._map[len(MAGIC) : len(MAGIC) + 8], "little")
        base = len(MAGIC) + 8 + size
        header = json.loads(self._map[len(MAGIC) + 8 : base])
        self._arrays = {
            name: np.frombuffer(
                self._map, dtype=dtype, count=count * int(np.prod(shape or [1])), offset=base + at
            ).reshape(count, *shape)
            for name, (dtype, at, count, shape) in header["arrays"].items()
        }
        self.facet_values: list[tuple[str, str]] = [tuple(pair) for pair in header["facets"]]
        self.covers: list[list] = header.get("covers", [])  # (a segment's file: none)
        self.size = len(self._arrays[_FACET_STARTS]) - 1  # (documents)
        self._hashes, self._key_ends = self._arrays[_HASHES], self._arrays[_KEY_ENDS]
        self._keys = base + header["arrays"][_KEYS][1]  # (where the keys start in the file)
        self._starts = self._arrays[_STARTS]
        self._ids, self._weights = self._arrays[_IDS], self._arrays[_WEIGHTS]

    def place(self, term: Term) -> int | None:
        """The term's place in the segment's table, or None when the segment does not hold
        it."""
        hashes = self._hashes
        place = int(hashes.searchsorted(np.uint64(term.hashed)))
        ends, blob = self._key_ends, self._keys
        while place < len(hashes) and int(hashes[place]) == term.hashed:
            start = int(ends[place - 1]) if place else 0
            if self._map[blob + start : blob + int(ends[place])] == term.key:
                return place
            place += 1  # (another key of the same hash)
        return None

    def postings_at(self, place: int | None) -> tuple[np.ndarray, np.ndarray]:
        """The documents (numbered within the segment) and weights of the term at ``place``;
        empty for None."""
        if place is None:
            return self._ids[:0], self._weights[:0]
        start, end = self._starts[place].tolist()
        return self._ids[start:end], self._weights[start:end]

    def postings(self, fieldname: str, termbytes: bytes) -> tuple[np.ndarray, np.ndarray]:
        """A term's documents (numbered within the segment) and weights; empty when the
        segment does not hold it."""
        return self.postings_at(self.place(term(fieldname, termbytes)))

    def phrase(self, fieldname: str, places: list[int | None]) -> np.ndarray | None:
        """The documents of the segment (deleted ones included) where the words at
        ``places`` (of the field) occur one right after another in the field, stop words
        aside (Whoosh's phrase with slop 1), in order; None when the segment keeps no
        positions for the field."""
        positions = self._arrays.get(_POSITIONS + fieldname)
        if positions is None:
            return None
        found = []
        for place in places:
            if place is None:
                return self._ids[:0]
            start, end = self._starts[place].tolist()
            base = int(self._arrays[_BASES][place])
            found.append((self._ids[start:end], self._weights[start:end].astype(np.int64), base))
        # The rarest word first: the documents holding every word, then the keys.
        order = sorted(range(len(found)), key=lambda i: len(found[i][0]))
        candidates = reduce(_common, (found[i][0] for i in order))
        keys = None
        for shift in order:
            docs, counts, base = found[shift]
            if not len(candidates):
                break
            firsts = base + np.cumsum(counts) - counts
            at = np.searchsorted(docs, candidates)  # (each candidate's posting)
            chosen = counts[at]
            places = runs(firsts[at], chosen)
            # Word i of the phrase at position p makes key (document, p - i): a document
            # holds the phrase where every word makes the same key. (Keys come in order:
            # documents in order, each one's positions in order.)
            which = np.repeat(np.arange(len(candidates), dtype=np.int64), chosen)
            made = which * _DOCUMENT_KEY + positions[places].astype(np.int64) - shift
            keys = made if keys is None else _common(keys, made)
            if not len(keys):
                return self._ids[:0]
        if keys is None:
            return self._ids[:0]
        which = keys // _DOCUMENT_KEY
        first = np.ones(len(which), dtype=bool)
        first[1:] = which[1:] != which[:-1]
        return candidates[which[first]]

    def facets(self) -> tuple[np.ndarray, np.ndarray]:
        """Each document's facet values: document d's codes (places in ``facet_values``) are
        ``codes[starts[d]:starts[d + 1]]``; (starts, codes)."""
        return self._arrays[_FACET_STARTS], self._arrays[_FACET_CODES]

    def lengths(self, fieldname: str) -> np.ndarray | None:
        """Every document's length in a field (0 where it has none), or None when the field is
        not scored."""
        return self._arrays.get(_LENGTH + fieldname)

    def column(self, name: str) -> np.ndarray | None:
        """Every document's value of a numeric column, or None when the segment has none."""
        return self._arrays.get(_COLUMN + name)


def read_matcher(matcher) -> tuple[np.ndarray, np.ndarray]:
    """All the postings of a fresh matcher: document numbers and weights. Whoosh's W3 format
    is decoded a block at a time with numpy from the block's own data, as its ``_read_ids``
    and ``_read_weights`` decode them (its matcher is called twice per posting, which at
    millions of postings is most of a query's time); any other matcher posting by posting."""
    if type(matcher) is not W3LeafMatcher:
        listed, values = [], []
        while matcher.is_active():
            listed.append(matcher.id())
            values.append(matcher.weight())
            matcher.next()
        return np.array(listed, dtype=np.int64), np.array(values, dtype=float)
    ids, weights = [np.zeros(0, dtype=np.int64)], [np.zeros(0)]
    while matcher.is_active():
        if matcher._data is None:
            matcher._read_data()
        raw_ids, raw_weights = matcher._data[0], matcher._data[1]
        block = np.asarray(raw_ids, dtype=np.int64)
        ids.append(block if matcher._byteids else np.cumsum(block))  # (deltas otherwise)
        if raw_weights is None:
            weights.append(np.ones(len(block)))
        elif isinstance(raw_weights, float):
            weights.append(np.full(len(block), raw_weights))
        else:
            weights.append(np.asarray(raw_weights, dtype=float))
        matcher._next_block()
    return np.concatenate(ids), np.concatenate(weights)


def covered(folder: Path) -> set[str]:
    """The ids of the segments the generation's merged file (in ``folder``) stands for."""
    try:
        return {name for name, _ in SegmentPostings(folder / MERGED).covers}
    except (OSError, ValueError, KeyError):  # (none, or unreadable: not used)
        return set()


def open_merged(folder: Path, segments: list[tuple[str, int]]) -> SegmentPostings | None:
    """The generation's merged file when it stands for the first of ``segments`` (id and
    document count, in the index's order), else None."""
    path = folder / MERGED
    if not path.exists():
        return None
    try:
        merged = SegmentPostings(path)
    except (OSError, ValueError, KeyError) as error:
        logger.warning("%s is unreadable, searching without it: %s", path, error)
        return None
    if [tuple(item) for item in merged.covers] != segments[: len(merged.covers)]:
        return None
    return merged


def open_for(segment_reader) -> SegmentPostings | None:
    """The arrays of a Whoosh segment reader's segment, or None when it has no such file."""
    segment = segment_reader.segment()  # (None in an index without segments)
    folder = getattr(segment_reader.storage(), "folder", None)
    if segment is None or folder is None:
        return None
    path = Path(folder) / segment.make_filename(SUFFIX)
    if not path.exists():
        return None
    try:
        return SegmentPostings(path)
    except (OSError, ValueError, KeyError) as error:
        # (Whoosh's own files still answer every search, only slower)
        logger.warning("%s is unreadable, searching without it: %s", path, error)
        return None
