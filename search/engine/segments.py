"""A writer of whole segments in Whoosh's own format, for a new generation's documents.

Whoosh's own writer suits any use: it estimates each posting's size, spills sorted runs to
temporary files, sorts every posting of the segment as one list, and then reads each
document's field length back from disk once per posting. A new generation is written once,
from the store, so this writer keeps the postings grouped by term in memory (they arrive in
document order, so only the terms need sorting) and the field lengths too. The files it
writes are Whoosh's own: any Whoosh reader opens them (tests/test_indexing.py compares them
with what Whoosh's writer makes of the same articles).

It writes Whoosh's W3 format through the format's own classes, and so reads some of their
private attributes (the codec's block settings, the field writer's files and term index):
Whoosh-Reloaded is pinned, and that test fails if a new version writes other bytes.
"""

from __future__ import annotations

import pickle
import struct
from array import array
from collections import defaultdict
from operator import sub
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3Codec, W3TermInfo
from whoosh.columns import NumericColumn
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from search.engine import postings as flat
from search.engine import schema

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
    """The per-document writer, remembering the field lengths it writes (as stored: to a byte)
    and the values of numeric columns (for the segment's flat arrays)."""

    def __init__(self, perdocwriter: Any):
        self._writer = perdocwriter
        self._docnum = 0
        self.lengths: defaultdict[str, dict[int, int]] = defaultdict(dict)
        self.columns: dict[str, tuple[str, dict[int, Any]]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)

    def start_doc(self, docnum: int) -> None:
        self._docnum = docnum
        self._writer.start_doc(docnum)

    def add_field(self, fieldname: str, fieldobj: Any, value: Any, length: int) -> None:
        if length:
            self.lengths[fieldname][self._docnum] = byte_to_length(length_to_byte(length))
        self._writer.add_field(fieldname, fieldobj, value, length)

    def add_column_value(self, fieldname: str, column: Any, value: Any) -> None:
        if isinstance(column, NumericColumn):
            self.columns.setdefault(fieldname, (column._typecode, {}))[1][self._docnum] = value
        self._writer.add_column_value(fieldname, column, value)


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
        # Field -> (document, its terms in order) for fields with positions (NewsText).
        self.sequences: defaultdict[str, list[tuple[int, list[bytes]]]] = defaultdict(list)

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
                    if isinstance(value, str) and hasattr(field, "terms_in_order"):
                        items, kept = field.terms_in_order(value)
                        self.sequences[fieldname].append((docnum, kept))
                        self.pool.count += len(kept) // 8  # (a pointer a word)
                    else:
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

    def finish_segment(self) -> Any:
        """Write the segment's files and return the segment, for the writer that holds the
        index's lock to list; this writer is done."""
        return self._finalize_segment()

    def discard_segment(self) -> None:
        """Close the files of an unfinished segment (the half-built generation goes as a
        whole), if there is one."""
        if self.perdocwriter is not None:
            self._close_segment()

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        self._write_postings()
        self.fieldwriter.close()

    def _write_postings(self) -> None:
        """Write every term's postings and its entry in the term index, as Whoosh's W3 field
        writer does posting by posting (``FieldWriter.add_postings``, ``W3PostingsWriter``,
        ``OrderedHashWriter.add``): the same bytes, written a few thousand terms at a time.
        Then the same postings, the field lengths and the numeric columns as flat arrays
        (search.engine.postings)."""
        # Blocks as CODEC writes them: uncompressed, never inlined in the term index.
        assert CODEC._compression == 0 and CODEC._inlinelimit == 1
        fieldwriter = self.fieldwriter
        postfile, tindex = fieldwriter._postfile, fieldwriter._tindex
        offset, at = postfile.tell(), tindex.dbfile.tell()
        blocks: list[bytes] = []
        entries: list[bytes] = []
        terms = self.pool.terms
        fieldname = None
        listed: list[tuple[str, bytes, int]] = []
        flat_ids, flat_weights = array("i"), array("f")
        for key in sorted(terms):
            if key[0] != fieldname:
                fieldname = key[0]
                fieldwriter.start_field(fieldname, self.schema[fieldname])
                prefix = pack_ushort(fieldwriter._fieldid)
                fixedsize = self.schema[fieldname].format.fixed_value_size()
                field_lengths = self.perdocwriter.lengths[fieldname]
            block, terminfo = _postings_blocks(
                terms[key], field_lengths, fixedsize, flat_ids, flat_weights
            )
            listed.append((fieldname, key[1], len(terms[key])))
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
        self._write_flat(listed, flat_ids, flat_weights)

    def _write_flat(self, listed, ids: array, weights: array) -> None:
        """The segment's file of flat arrays (search.engine.postings)."""
        size = self.docnum
        recorder = self.perdocwriter

        def per_document(values: dict[int, Any], dtype: str) -> np.ndarray:
            found = np.zeros(size, dtype=dtype)
            found[np.fromiter(values, dtype=np.int64, count=len(values))] = list(values.values())
            return found

        lengths = {
            name: per_document(values, "f4")
            for name, values in recorder.lengths.items()
            if self.schema[name].scorable
        }
        columns = {
            name: per_document(values, np.dtype(typecode).str)
            for name, (typecode, values) in recorder.columns.items()
        }
        path = Path(self.storage.folder) / self.newsegment.make_filename(flat.SUFFIX)
        flat.write(
            path,
            listed,
            np.frombuffer(ids, dtype=np.int32),
            np.frombuffer(weights, dtype=np.float32),
            lengths,
            columns,
            self.sequences,
            tuple(schema.FACET_FIELDS.values()),
            size,
        )
        self.sequences = None


def _postings_blocks(
    postings: list[tuple[int, float, bytes]],
    field_lengths: dict[int, int],
    fixedsize: int | None,
    flat_ids: array,
    flat_weights: array,
) -> tuple[bytes, bytes]:
    """A term's postings as W3PostingsWriter writes them (a header, then blocks of
    CODEC._blocklimit postings) and the start of its W3TermInfo (before the extent). Its
    document numbers and weights are added to ``flat_ids`` and ``flat_weights`` too."""
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
        flat_ids.extend(ids)
        flat_weights.extend(stored)
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
