"""A Whoosh segment writer for building a whole index generation in one go.

Whoosh's own writer suits any use: it estimates each posting's size, spills sorted runs to
temporary files, sorts every posting of the segment as one list, and then reads each
document's field length back from disk once per posting. A new generation is written once,
from the store, by one process, so this writer keeps the postings grouped by term in memory
(they arrive in document order, so only the terms need sorting) and the field lengths too.
The files it writes are Whoosh's own: any Whoosh reader opens them (tests/test_indexing.py
compares them with what Whoosh's writer makes of the same articles).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from whoosh.codec.whoosh3 import W3Codec
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

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
