"""One file of flat arrays for a whole generation, merged from its segments' files.

A generation is written as several segments (one run of articles each, by worker processes),
each with its file of flat arrays (search.engine.postings). Looking a word up once per segment
was most of an unseen query's time at a million articles (42 segments), so once the segments
are written their files are merged into one, ``postings.MERGED``, numbered as the generation
numbers its documents, and read as one segment's file is.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from search.engine.postings import (
    _BASES,
    _COLUMN,
    _FACET_CODES,
    _FACET_STARTS,
    _HASHES,
    _IDS,
    _KEY_ENDS,
    _KEYS,
    _LENGTH,
    _POSITIONS,
    _STARTS,
    _WEIGHTS,
    MERGED,
    SUFFIX,
    SegmentPostings,
    _Later,
    _write_arrays,
    joined,
    runs,
)


def merge(folder: str | Path, segments: list[tuple[str, int]]) -> Path:
    """Merge the files of a generation's segments (id and document count, in the index's
    order) into one, ``MERGED``, for the documents numbered as the generation numbers them:
    a term is then found once, not once per segment. Returns its path.

    Raises:
        ValueError: two different terms share a hash (the segments' files then serve).

    The large arrays (postings, positions) are made one at a time, each written as soon as
    it is made, so that memory holds one of them at most."""
    folder = Path(folder)
    parts = [SegmentPostings(folder / f"{name}{SUFFIX}") for name, _ in segments]
    sizes = [size for _, size in segments]
    offsets = np.concatenate(([0], np.cumsum(sizes)))
    hashes = np.unique(np.concatenate([p._hashes for p in parts]))
    places = [np.searchsorted(hashes, p._hashes) for p in parts]  # each term's merged place
    keys: list[bytes | None] = [None] * len(hashes)
    for part, merged in zip(parts, places, strict=True):
        ends = part._key_ends.tolist()
        blob = part._map[part._keys : part._keys + (ends[-1] if ends else 0)]
        for place, start, end in zip(merged.tolist(), [0, *ends[:-1]], ends, strict=True):
            key = blob[start:end]
            if keys[place] is None:
                keys[place] = key
            elif keys[place] != key:  # (two terms of one hash: a one in 10^8 chance)
                raise ValueError(f"terms {keys[place]!r} and {key!r} share a hash")
    fields = np.array([key.split(b"\x00", 1)[0].decode("utf-8") for key in keys])
    counts = [p._starts[:, 1] - p._starts[:, 0] for p in parts]
    firsts = [p._starts[:, 0] for p in parts]
    starts = _layout(len(hashes), places, counts)
    arrays: dict[str, np.ndarray | _Later] = {
        _HASHES: hashes,
        _KEYS: np.frombuffer(b"".join(keys), dtype=np.uint8),
        _KEY_ENDS: np.cumsum([len(key) for key in keys], dtype=np.int64),
        _STARTS: np.stack((starts[:-1], starts[1:]), axis=1),
        _IDS: _Later(
            np.int32,
            int(starts[-1]),
            lambda: _fill(starts, places, counts, firsts, [p._ids for p in parts], offsets),
        ),
        _WEIGHTS: _Later(
            np.float32,
            int(starts[-1]),
            lambda: _fill(starts, places, counts, firsts, [p._weights for p in parts]),
        ),
    }
    bases = np.full(len(hashes), -1, dtype=np.int64)
    names = {n[len(_POSITIONS) :] for p in parts for n in p._arrays if n.startswith(_POSITIONS)}
    for fieldname in sorted(names):
        mine = fields == fieldname
        # Each term's count of positions in a segment: the sum of its postings' weights.
        occurrences, where = [], []
        for part, merged in zip(parts, places, strict=True):
            held = mine[merged] & (part._arrays[_BASES] >= 0)
            order = np.argsort(part._starts[:, 0], kind="stable")
            total = np.zeros(len(order), dtype=np.int64)
            if len(order):
                weights = part._weights.astype(np.float64)
                total[order] = np.rint(np.add.reduceat(weights, part._starts[order, 0]))
            occurrences.append(np.where(held, total, 0))
            where.append(np.where(held, part._arrays[_BASES], 0))
        layout = _layout(len(hashes), places, occurrences)
        bases[mine] = layout[:-1][mine]
        sources = [p._arrays.get(_POSITIONS + fieldname, np.zeros(0, np.uint32)) for p in parts]
        arrays[_POSITIONS + fieldname] = _Later(
            np.uint32,
            int(layout[-1]),
            # (the arguments bound now: the loop goes on)
            lambda a=(layout, places, occurrences, where, sources): _fill(*a),
        )
    arrays[_BASES] = bases
    names = {n for p in parts for n in p._arrays if n.startswith((_LENGTH, _COLUMN))}
    for name in sorted(names):
        found = [p._arrays.get(name) for p in parts]
        dtype = next(a.dtype for a in found if a is not None)
        arrays[name] = np.concatenate(
            [
                a if a is not None else np.zeros(n, dtype=dtype)
                for a, n in zip(found, sizes, strict=True)
            ]
        )
    labels = sorted(
        {tuple(label) for p in parts for label in p.facet_values},
        key=lambda label: (label[0].encode(), label[1].encode()),
    )
    code_of = {label: code for code, label in enumerate(labels)}
    facets = [(p.facet_values, *p.facets()) for p in parts]
    arrays[_FACET_STARTS], arrays[_FACET_CODES] = joined(facets, code_of)
    path = folder / MERGED
    _write_arrays(path, arrays, [list(label) for label in labels], [list(s) for s in segments])
    return path


def _layout(size: int, places, counts) -> np.ndarray:
    """Where each of ``size`` merged terms' values start (and the end): part i's term t
    (merged place ``places[i][t]``) has ``counts[i][t]`` of them."""
    totals = np.zeros(size, dtype=np.int64)
    for merged, count in zip(places, counts, strict=True):
        totals[merged] += count
    return np.concatenate(([0], np.cumsum(totals)))


def _fill(starts, places, counts, firsts, sources, offsets=None) -> np.ndarray:
    """Each merged term's values (laid out by ``starts``) from every part, part by part:
    part i's term t has ``counts[i][t]`` values from ``sources[i][firsts[i][t]:]``, plus
    ``offsets[i]`` when given."""
    out = np.zeros(int(starts[-1]), dtype=sources[0].dtype if sources else np.int32)
    filled = np.zeros(len(starts) - 1, dtype=np.int64)
    for i, (merged, count, first, source) in enumerate(
        zip(places, counts, firsts, sources, strict=True)
    ):
        where = starts[merged] + filled[merged]
        filled[merged] += count
        values = source[runs(first, count)]
        out[runs(where, count)] = values if offsets is None else values + offsets[i]
    return out
