"""Stories: the clusters of stored articles whose bodies are near-identical (wire copies,
one story under several URLs, an archive's repeats).

Each body is fingerprinted by MinHash over its 5-word shingles (datasketch); the
signature's bands are kept in the store, so that a new article's candidates are a few
indexed lookups. A candidate joins only when the real Jaccard similarity of the two
bodies' shingle sets reaches :data:`THRESHOLD`; the article then takes the story of its
most similar candidate, else it starts a story of its own. Bodies too short to tell
stories apart (an empty Reuters brief, a dividend notice) are never clustered by their
text alone.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
import struct
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from datasketch import MinHash, MinHashLSH

from search import settings

# Jaccard similarity of two bodies' 5-word shingle sets from which they tell one story
# (measured on Reuters-21578: see bench/README.md).
THRESHOLD = 0.8
SHINGLE_WORDS = 5
NUM_PERM = 128
# The bands of the signature that find candidates: tuned by datasketch for a similarity a
# little under THRESHOLD, so that few true copies are missed (each candidate is verified).
_LSH = MinHashLSH(threshold=THRESHOLD - 0.1, num_perm=NUM_PERM)
BANDS, ROWS = _LSH.b, _LSH.r
# Bodies with fewer words are never fingerprinted: each is a story of its own.
MIN_WORDS = 8
# Bodies with fewer words than this join a story only when the titles agree too: short
# notices ("Qtr div 10 cts vs 10 cts prior, pay April 1") differ only in the headline.
SHORT_WORDS = 60

# Copies of a story are published within days of each other; a report that recurs in the same
# words (a central bank's daily operations, a weekly price table) on other days is another
# story. Articles both dated this many days apart or more are never one story; for short
# bodies (template notices), one day.
MAX_DAYS_APART = 3
SHORT_MAX_DAYS_APART = 1

_WORD = re.compile(r"\w+")
# The random permutations of every signature, made once (datasketch's default seed): making
# them cost more than hashing a body.
_PERMUTATIONS = MinHash(num_perm=NUM_PERM).permutations


@dataclass(frozen=True)
class Fingerprint:
    """A body's shingles (for the exact check), its band keys (for the lookup) and the
    facts the check needs."""

    shingles: frozenset[str]
    keys: tuple[int, ...]  # one per band, band number mixed in, as signed 64-bit integers
    words: int
    title: str  # folded, for short bodies
    published: datetime | None = None


def words_of(text: str) -> list[str]:
    """The body's words as shingles compare them: lower case, punctuation dropped."""
    return _WORD.findall(text.casefold())


def shingles_of(words: list[str]) -> frozenset[str]:
    """The body's 5-word shingles (its words in order, five at a time)."""
    n = SHINGLE_WORDS
    return frozenset(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))


def fingerprint(
    title: str, body: str, published: datetime | None = None, keys: bool = True
) -> Fingerprint | None:
    """The fingerprint of an article, or None when its body is too short to have one;
    without its band keys when ``keys`` is false (a candidate being checked)."""
    words = words_of(body)
    if len(words) < MIN_WORDS:
        return None
    shingles = shingles_of(words)
    folded = " ".join(words_of(title))
    if not keys:
        return Fingerprint(shingles, (), len(words), folded, published)
    # CRC-32 hashes each shingle as well as datasketch's SHA-1 does for MinHash, in a
    # fifth of the time.
    sketch = MinHash(num_perm=NUM_PERM, hashfunc=zlib.crc32, permutations=_PERMUTATIONS)
    sketch.update_batch([s.encode() for s in shingles])
    values = sketch.hashvalues.astype(np.uint64)
    found = []
    for band in range(BANDS):
        part = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(part, digest_size=8, person=struct.pack("<Q", band)).digest()
        found.append(struct.unpack("<q", digest)[0])
    return Fingerprint(shingles, tuple(found), len(words), folded, published)


def stored_fingerprint(data: dict, keys: bool = True) -> Fingerprint | None:
    """The fingerprint of a stored article (as JSON data)."""
    return fingerprint(data.get("title", ""), data.get("body", ""), published(data), keys)


def published(data: dict) -> datetime | None:
    """When a stored article (as JSON data) was published, if it says."""
    when = data.get("published")
    return datetime.fromisoformat(when) if when else None


# From this many articles to cluster at once (an ingest of an archive, a reindex), their
# fingerprints are made by one process per core while this one looks up their candidates.
PARALLEL_FROM = 20_000

# Fingerprints of stored articles (as JSON), given when they are ready.
Batch = Callable[[], list[Fingerprint | None]]


def _stored_fingerprints(rows: list[str]) -> list[Fingerprint | None]:
    """The fingerprints of stored articles, each given as its JSON."""
    return [stored_fingerprint(json.loads(row)) for row in rows]


def _made_now(rows: list[str]) -> Batch:
    """Fingerprint stored articles in this process, now."""
    made = _stored_fingerprints(rows)
    return lambda: made


@contextmanager
def fingerprinter(count: int) -> Iterator[Callable[[list[str]], Batch]]:
    """A function that starts fingerprinting some stored articles (their JSON) and gives
    what returns the fingerprints, for clustering ``count`` articles: at once in this
    process, or, from PARALLEL_FROM articles on a machine of several cores, in spawned
    worker processes (no copy of a crawler's threads), so that the next batch is made
    while this one is clustered."""
    workers = settings.cores()
    if count < PARALLEL_FROM or workers < 2:
        yield _made_now
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:

        def start(rows: list[str]) -> Batch:
            size = max(1, -(-len(rows) // workers))
            parts = [
                pool.submit(_stored_fingerprints, rows[i : i + size])
                for i in range(0, len(rows), size)
            ]
            return lambda: [found for part in parts for found in part.result()]

        yield start


_APART = {False: timedelta(days=MAX_DAYS_APART), True: timedelta(days=SHORT_MAX_DAYS_APART)}


def apart(a: datetime | None, b: datetime | None) -> bool:
    """Whether two publication dates are too far apart for any two articles to tell one story
    (what :func:`same_story` checks first): a candidate from another week is turned away
    before its body is read."""
    return bool(a and b and abs(a - b) >= _APART[False])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """The Jaccard similarity of two shingle sets (0 when both are empty)."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def same_story(a: Fingerprint, b: Fingerprint) -> float:
    """How similar two fingerprinted articles are when they tell the same story, else 0."""
    short = min(a.words, b.words) < SHORT_WORDS
    if short and a.title != b.title:
        return 0.0
    if a.published and b.published and abs(a.published - b.published) >= _APART[short]:
        return 0.0
    similarity = jaccard(a.shingles, b.shingles)
    return similarity if similarity >= THRESHOLD else 0.0
