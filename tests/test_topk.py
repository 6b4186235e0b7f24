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
