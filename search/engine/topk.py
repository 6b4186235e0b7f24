"""The best few of many matches, from words' scores: every match scored, or, for a query's
optional words (the words pseudo-relevance feedback adds), only the matches that can still
reach the top.

Scores are summed word by word in the query's order, so a document's score is the same float
whichever way it was reached (and the one Whoosh's matchers give).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# The first candidates for the top, in multiples of the places asked for; eight times as many
# each time the bound does not close, until they would be more than a DENSE-th of the
# matches: then every match is scored.
CANDIDATES = 20
DENSE = 8


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
    while count < len(docs) // DENSE:
        chosen = np.argpartition(-base, count)[:count]
        found = best(*_scored(docs[chosen], base[chosen], optional), limit)
        rest = np.ones(len(docs), dtype=bool)
        rest[chosen] = False
        if len(found) == limit and base[rest].max() + ceiling < found[-1][1]:
            return found
        count *= 8
    # Most of the matches could reach the top: every one scored, looked up in each word's
    # documents when they are few, else word by word over an array of every document.
    if len(docs) * DENSE < sum(len(holders) for holders, _, _ in optional):
        return best(*_scored(docs, base, optional), limit)
    scores = np.zeros(int(docs[-1]) + 1 if len(docs) else 0)
    scores[docs] = base
    for holders, values, boost in optional:
        inside = holders < len(scores)
        scores[holders[inside]] += values[inside] * boost
    return best(docs, scores[docs], limit)


def _scored(candidates: np.ndarray, base: np.ndarray, optional) -> tuple[np.ndarray, np.ndarray]:
    """Some documents (in any order) and their scores: ``base`` plus the optional words'."""
    totals = base.copy()
    for holders, values, boost in optional:
        # (in the holders' own type: numpy would copy them into the candidates')
        wanted = candidates.astype(holders.dtype, copy=False)
        at = np.minimum(np.searchsorted(holders, wanted), len(holders) - 1)
        held = holders[at] == wanted if len(holders) else np.zeros(len(at), dtype=bool)
        totals[held] += values[at[held]] * boost
    return candidates, totals
