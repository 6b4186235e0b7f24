"""Autocomplete: people, topics and title words that begin with what the reader has typed."""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass

from search.engine import schema

MAX_PREFIX = 100
_WORD_START = re.compile(r"(?<![\w'])\w")


@dataclass
class Vocabulary:
    """Sorted (folded key, value, count) entries of each kind, searched by prefix."""

    kinds: dict[str, tuple[list[str], list[tuple[str, int]]]]

    def complete(self, kind: str, prefix: str, limit: int) -> list[dict[str, object]]:
        """The ``limit`` commonest values of ``kind`` with a word that begins with ``prefix``."""
        keys, entries = self.kinds[kind]
        start = bisect_left(keys, prefix)
        end = bisect_left(keys, prefix + "\U0010ffff", lo=start)
        best: dict[str, int] = {}
        for value, count in entries[start:end]:
            best[value] = count
        top = heapq.nsmallest(limit, best.items(), key=lambda item: (-item[1], item[0]))
        return [{"value": value, "count": count} for value, count in top]


def build_vocabulary(reader, written: Iterable[str]) -> Vocabulary:
    """Read the index's people, topics and title words (with their document counts).

    ``written`` holds the words of the articles as written (the generation's lexicon).
    """
    kinds = {}
    for kind, fieldname in (("people", schema.PERSON), ("topics", schema.TOPIC)):
        rows = []
        for term, info in reader.iter_field(fieldname):
            value = _text(term)
            folded = schema.fold_text(value)
            # "yi" finds "Wang Yi": every word of a name or topic is a way in.
            for match in _WORD_START.finditer(folded):
                rows.append((folded[match.start() :], value, info.doc_frequency()))
        kinds[kind] = _sorted(rows)
    # One pass over each lexicon: looking every word up in the title field costs seconds.
    in_titles = {
        _text(term): info.doc_frequency() for term, info in reader.iter_field(schema.TITLE)
    }
    rows = []
    for word in written:
        if len(word) < 2 or not word[0].isalpha():
            continue
        # The unstemmed words of the text, kept when their stem is in some title.
        count = in_titles.get(schema.stem(word))
        if count:
            rows.append((schema.fold_text(word), word, count))
    kinds["words"] = _sorted(rows)
    return Vocabulary(kinds)


def _text(term: bytes | str) -> str:
    return term.decode("utf-8") if isinstance(term, bytes) else term


def _sorted(rows: list[tuple[str, str, int]]) -> tuple[list[str], list[tuple[str, int]]]:
    rows.sort()
    return [key for key, _, _ in rows], [(value, count) for _, value, count in rows]


def suggestions(vocabulary: Vocabulary, text: str, limit: int = 5) -> dict[str, object]:
    """Completions of ``text``: people and topics that begin with it, title words that begin
    with its last word."""
    prefix = schema.fold_text(text.strip())
    last = prefix.split()[-1] if prefix.split() else ""
    return {
        "q": text,
        "people": vocabulary.complete("people", prefix, limit) if prefix else [],
        "topics": vocabulary.complete("topics", prefix, limit) if prefix else [],
        "words": vocabulary.complete("words", last, limit) if last else [],
    }
