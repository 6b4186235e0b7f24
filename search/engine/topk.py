"""The best few of many matches, from words' scores: every match scored, or, for a query's
optional words (the words pseudo-relevance feedback adds), only the matches that can still
reach the top.

Scores are summed word by word in the query's order, so a document's score is the same float
whichever way it was reached (and the one Whoosh's matchers give).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The first candidates for the top, in multiples of the places asked for; four times as many
# each time the bound does not close.
CANDIDATES = 20


def best(docs: np.ndarray, values: np.ndarray, limit: int) -> list[tuple[int, float]]:
    """The ``limit`` best documents by value, best first, ties by document number."""
    if len(docs) > limit:
        # Everything that ties with the last place, then the order Whoosh gives.
        keep = values >= np.partition(values, len(docs) - limit)[len(docs) - limit]
        docs, values = docs[keep], values[keep]
    order = np.lexsort((docs, -values))[:limit]
    return [(int(docs[i]), float(values[i])) for i in order]


def best_with_optional(
    docs: np.ndarray,
    base: np.ndarray,
    optional: Sequence[tuple[np.ndarray, np.ndarray, float]],
    limit: int,
) -> list[tuple[int, float]]:
    """:func:`best` of ``docs`` (in order) scored ``base`` (their scores so far) plus the
    ``optional`` words' (each its documents, in order, their scores and the word's boost,
    all at least 0), added in that order where a document holds the word.

    Only the documents best by ``base`` are scored in full: a document left out has at most
    its ``base`` plus every optional word's best score, and the candidates grow until that
    bound is below the last place's score, so the result is the one of scoring them all.
    """
    ceiling = sum(float(values.max(initial=0.0)) * boost for _, values, boost in optional)
    ceiling = ceiling * (1 + 1e-9) + 1e-12  # (above any rounding of the sums)
    count = max(limit * CANDIDATES, 100)
    while True:
        if count >= len(docs):
            chosen = np.arange(len(docs))
        else:
            chosen = np.argpartition(-base, count)[:count]
        candidates, totals = docs[chosen], base[chosen].copy()
        for holders, values, boost in optional:
            at = np.minimum(np.searchsorted(holders, candidates), len(holders) - 1)
            held = holders[at] == candidates if len(holders) else np.zeros(len(at), dtype=bool)
            totals[held] += values[at[held]] * boost
        if len(chosen) == len(docs):
            return best(candidates, totals, limit)
        found = best(candidates, totals, limit)
        rest = np.ones(len(docs), dtype=bool)
        rest[chosen] = False
        if len(found) == limit and base[rest].max() + ceiling < found[-1][1]:
            return found
        count *= 4
