"""The best few of many matches, from words' scores: every match scored, or only the matches
that can still reach the top (MaxScore over the query's words, :func:`pruned_best`; and, for
a query's optional words, the words pseudo-relevance feedback adds, :func:`best_with_optional`).

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
        if len(holders):
            at, held = _places(holders, candidates)
            totals[held] += values[at[held]] * boost
    return candidates, totals


# MaxScore: the query's words with the shortest lists, up to this many postings together, are
# scored first, for a lower bound of the last place; the words whose best scores together stay
# under it are then only looked up, for the documents the other words hold.
SEED_POSTINGS = 5000
# Indexes of fewer documents score every match: an array of every document is cheap there
# (Reuters-21578: the dense sum was about 1 ms a query faster; 100,000: level; 1,000,000:
# pruning 3-8 ms faster at the median, 40-60 at the 99th percentile).
PRUNE_FROM = 50_000


class Word:
    """One word of a query in one field: the documents holding it (in order), its boost, a
    bound on any of its boosted scores, and its scores, computed only where asked for."""

    __slots__ = ("docs", "boost", "bound", "_score")

    def __init__(self, docs: np.ndarray, boost: float, bound: float, score):
        self.docs = docs
        self.boost = boost
        self.bound = bound  # (boosted)
        self._score = score  # places in docs -> their unboosted scores

    def scores_at(self, places: np.ndarray) -> np.ndarray:
        """The unboosted scores of ``docs[places]``."""
        return self._score(places)

    def within(self, keep: np.ndarray) -> Word:
        """The word counted only in the documents where ``keep`` (a mask over ``docs``)
        holds: a word of a phrase in an OR counts where the whole phrase matches."""
        places = np.flatnonzero(keep)
        return Word(self.docs[places], self.boost, self.bound, lambda at: self._score(places[at]))


def pruned_best(
    words: Sequence[Word],
    matched: np.ndarray,
    limit: int,
    factors: np.ndarray | None = None,
    likely: np.ndarray | None = None,
) -> list[tuple[int, float]] | None:
    """:func:`best` of the documents ``matched`` (in order) by their words' scores summed in
    order (blended with ``factors``, each at most 1, when given), without scoring every
    match; None when no word can be left to look-ups (score every match instead).
    ``likely``: some matches likely to be among the best (the best by some of the words),
    scored first with the words of the shortest lists.

    Exact: a match none of the scored words holds has at most the looked-up words' bounds
    together, which is below the last place's score.
    """
    if not words or limit <= 0 or any(w.boost <= 0 or not w.bound >= 0 for w in words):
        return None
    if limit * DENSE > len(matched):
        return None  # (most matches could be in the top)
    sizes = np.array([len(w.docs) for w in words])
    by_size = np.argsort(sizes, kind="stable")
    seeds, held = [], 0
    for i in by_size.tolist():
        if seeds and held + sizes[i] > SEED_POSTINGS:
            break
        seeds.append(i)
        held += int(sizes[i])
    seen = _candidates([words[i].docs for i in seeds], matched)
    if likely is not None:
        seen = np.union1d(seen, likely[_holds(matched, likely)])
    totals = _exact(words, seen, factors)
    if len(seeds) == len(words):
        return best(seen, totals, limit)
    if len(seen) < limit:
        return None
    last = float(np.partition(totals, len(totals) - limit)[len(totals) - limit])
    # The largest lists left to look-ups while their bounds together stay under the last place.
    budget = last * (1 - 1e-9) - 1e-12
    looked_up, ceiling = set(), 0.0
    for i in by_size[::-1].tolist():
        # (a document not scored yet holds no seed word: only the others' bounds count)
        if i not in seeds and ceiling + words[i].bound < budget:
            looked_up.add(i)
            ceiling += words[i].bound
    if not looked_up:
        return None
    scored = [i for i in range(len(words)) if i not in looked_up and i not in seeds]
    if scored:
        more = _candidates([words[i].docs for i in scored], matched)
        more = more[~_holds(seen, more)]
        if len(more) * 2 > len(matched):
            return None
        seen = np.concatenate((seen, more))
        totals = np.concatenate((totals, _exact(words, more, factors)))
    return best(seen, totals, limit)


def _candidates(lists: list[np.ndarray], matched: np.ndarray) -> np.ndarray:
    """The documents of ``matched`` (sorted) that some of the sorted ``lists`` hold, in
    order: the lists sorted together when they are short, else marked in an array."""
    held = sum(len(docs) for docs in lists)
    if not held or not len(matched):
        return matched[:0]
    if held * 8 < len(matched):
        found = lists[0] if len(lists) == 1 else np.unique(np.concatenate(lists))
        return found[_holds(matched, found)]
    marks = np.zeros(int(matched[-1]) + 1, dtype=bool)
    for docs in lists:
        marks[docs[docs <= matched[-1]]] = True
    return matched[marks[matched]]


def _places(docs: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``wanted`` is (or would be) in ``docs`` (sorted, not empty), and which
    of them are there, as a mask (searched in ``docs``' own type: numpy would copy them
    into the other's)."""
    wanted = wanted.astype(docs.dtype, copy=False)
    at = np.minimum(np.searchsorted(docs, wanted), len(docs) - 1)
    return at, docs[at] == wanted


def _holds(docs: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Which of ``wanted`` are in ``docs`` (sorted), as a mask."""
    if not len(docs):
        return np.zeros(len(wanted), dtype=bool)
    return _places(docs, wanted)[1]


def _exact(words: Sequence[Word], docs: np.ndarray, factors: np.ndarray | None) -> np.ndarray:
    """The scores of ``docs`` (sorted): their words' boosted scores added in order (the
    floats of adding them over an array of every document), times ``factors`` when given.

    Each word's documents are looked up among ``docs``, or ``docs`` among its documents,
    whichever are fewer."""
    totals = np.zeros(len(docs))
    for word in words:
        holders = word.docs
        if not len(holders) or not len(docs):
            continue
        if len(holders) < len(docs):
            at, held = _places(docs, holders)
            totals[at[held]] += word.scores_at(np.flatnonzero(held)) * word.boost
        else:
            at, held = _places(holders, docs)
            totals[held] += word.scores_at(at[held]) * word.boost
    return totals if factors is None else totals * factors[docs]
