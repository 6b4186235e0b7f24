"""The top of many matches with optional words equals the top of scoring every match."""

from __future__ import annotations

import numpy as np
import pytest

from search.engine import topk


@pytest.mark.parametrize("seed", range(60))
def test_best_with_optional_words_is_best_of_all(seed):
    rng = np.random.default_rng(seed)
    # (few matches among many holders of the optional words, and the other way round)
    space = 20_000
    size = int(rng.integers(5, 5000))
    docs = np.sort(rng.choice(space, size, replace=False))
    # Coarse scores, so that ties are common.
    base = np.round(rng.exponential(3, size), int(rng.integers(0, 3)))
    optional = []
    for _ in range(int(rng.integers(1, 6))):
        holders = np.sort(rng.choice(space, int(rng.integers(0, space // 2)), replace=False))
        scores = np.round(rng.exponential(2, len(holders)), 1)
        optional.append((holders, scores, float(rng.uniform(0.01, 3))))
    dense = np.zeros(space)
    dense[docs] = base
    for holders, scores, boost in optional:
        dense[holders] += scores * boost
    limit = int(rng.integers(1, 60))
    expected = topk.best(docs, dense[docs], limit)
    assert topk.best_with_optional(docs, base, optional, limit) == expected


def _words(rng, space: int) -> list[topk.Word]:
    """Words of a query in fields: a few short lists (titles) and a few long ones (bodies),
    with coarse scores (ties are common) and bounds that hold, some of them loosely."""
    words = []
    for _ in range(int(rng.integers(1, 9))):
        share = rng.choice([0.001, 0.01, 0.3, 0.6])
        holders = np.sort(rng.choice(space, int(space * share), replace=False)).astype(np.int32)
        scores = np.round(rng.exponential(2, len(holders)), int(rng.integers(0, 3)))
        boost = float(rng.choice([1.0, rng.uniform(0.01, 2)]))
        bound = float(scores.max(initial=0.0)) * boost * float(rng.choice([1.0, 1.3]))
        words.append(topk.Word(holders, boost, bound, scores.__getitem__))
    return words


@pytest.mark.parametrize("seed", range(80))
def test_pruned_best_is_the_best_of_scoring_every_match(seed):
    rng = np.random.default_rng(seed)
    space = 50_000
    words = _words(rng, space)
    union = np.unique(np.concatenate([w.docs for w in words])).astype(np.int64)
    # Every match, or those of a filter.
    matched = union if seed % 3 else union[rng.random(len(union)) < 0.2]
    factors = rng.uniform(0.5, 1.0, space) if seed % 4 == 0 else None
    dense = np.zeros(space)
    for word in words:
        dense[word.docs] += word.scores_at(np.arange(len(word.docs))) * word.boost
    values = dense[matched] if factors is None else dense[matched] * factors[matched]
    limit = int(rng.choice([1, 10, 20, 50]))
    found = topk.pruned_best(words, matched, limit, factors)
    assert found is None or found == topk.best(matched, values, limit)


def test_pruned_best_prunes_a_query_of_rare_and_common_words():
    # One word in 300 titles, the same word and another in most bodies: the titles' holders
    # outscore anything the bodies alone can give.
    rng = np.random.default_rng(7)
    space = 100_000
    title = np.sort(rng.choice(space, 300, replace=False)).astype(np.int32)
    bodies = [np.sort(rng.choice(space, space // 2, replace=False)).astype(np.int32) for _ in "ab"]
    body_scores = [rng.uniform(0.1, 1.0, len(docs)) for docs in bodies]
    title_scores = np.full(len(title), 3.0)
    words = [topk.Word(title, 1.0, 3.0, title_scores.__getitem__)]
    for docs, scores in zip(bodies, body_scores, strict=True):
        words.append(topk.Word(docs, 1.0, 1.0, scores.__getitem__))
    matched = np.unique(np.concatenate([title, *bodies])).astype(np.int64)
    dense = np.zeros(space)
    for word in words:
        dense[word.docs] += word.scores_at(np.arange(len(word.docs)))
    found = topk.pruned_best(words, matched, 10)
    assert found == topk.best(matched, dense[matched], 10)
    assert all(doc in set(title.tolist()) for doc, _ in found)


def test_a_word_within_a_gate_counts_only_where_the_gate_matches():
    docs = np.array([1, 4, 6, 9], dtype=np.int32)
    scores = np.array([1.0, 2.0, 3.0, 4.0])
    word = topk.Word(docs, 2.0, 8.0, scores.__getitem__).within(np.array([0, 1, 0, 1], bool))
    assert word.docs.tolist() == [4, 9]
    assert word.scores_at(np.array([0, 1])).tolist() == [2.0, 4.0]
    matched = np.arange(100)  # (a word of the query that is not in the gate: an OR)
    assert topk.pruned_best([word], matched, 1) == [(9, 8.0)]
