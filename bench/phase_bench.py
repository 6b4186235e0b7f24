"""Where an unseen query's time goes: the search's phases, each timed by its own clock.

Usage: python -m bench.phase_bench DATA_DIR [--compare]

Runs the warm queries of bench.search_bench once (as a serving process would have), then its
300 unseen queries once each, and prints the mean milliseconds a query spends in each phase
(the matches, feedback's first pass and its choice of words, the page's ranking, facets,
snippets, timeline, "did you mean", the count of stories) with the p50, p99 and mean of the
whole search. ``--compare`` runs the same queries again in a second process-local searcher
with every match scored (no pruning: search.engine.topk), alternating the two three times,
and prints both, so that the figures of the two come from the same state of the machine.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from bench.common import percentile
from bench.search_bench import query_sets
from search.engine import collapse, view
from search.engine.searcher import Searcher
from search.request import Limits, SearchRequest

# (object, attribute, phase): the functions each phase's clock runs in.
PHASES = [
    (view.IndexView, "docs", "matches"),
    (Searcher, "_feedback", "feedback (first pass, words)"),
    (collapse, "page", "page (ranking, collapse)"),
    (view.IndexView, "facets", "facets"),
    (Searcher, "_hit", "snippets and fields"),
    (view.IndexView, "timeline", "timeline"),
    (Searcher, "_suggest", "did you mean"),
    (collapse, "matched_stories", "stories matched"),
]


@contextmanager
def clocks(spent: dict[str, float]) -> Iterator[None]:
    """Add to ``spent`` the milliseconds spent in each phase: a call inside another phase's
    (the matches of a phrase that gates the ranking's words) counts in that phase."""
    depth = [0]

    def clocked(function: Callable, phase: str) -> Callable:
        def run(*args, **kwargs):
            depth[0] += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1
                if not depth[0]:
                    spent[phase] += (time.perf_counter() - started) * 1000

        return run

    patches = []
    for owner, name, phase in PHASES:
        wrapped = clocked(getattr(owner, name), phase)
        if isinstance(vars(owner).get(name), staticmethod):
            wrapped = staticmethod(wrapped)
        patches.append(mock.patch.object(owner, name, wrapped))
    for patch in patches:
        patch.start()
    try:
        yield
    finally:
        for patch in reversed(patches):
            patch.stop()


def run(data_dir: Path, warm, unseen, pruned: bool) -> tuple[list[float], dict[str, float]]:
    """The unseen queries' latencies and the phases' total milliseconds, after the warm-up,
    in a new searcher (with every match scored when not ``pruned``)."""
    spent: dict[str, float] = defaultdict(float)
    scored_all = mock.patch.object(view.IndexView, "_words", lambda self, words: None)
    with Searcher(data_dir) as searcher:
        if not pruned:
            scored_all.start()
        try:
            for params in warm:
                searcher.search(SearchRequest.from_params(params, Limits()))
            latencies = []
            with clocks(spent):
                for params in unseen:
                    request = SearchRequest.from_params(params, Limits())
                    started = time.perf_counter()
                    searcher.search(request)
                    latencies.append((time.perf_counter() - started) * 1000)
        finally:
            if not pruned:
                scored_all.stop()
    return latencies, spent


def report(label: str, latencies: list[float], spent: dict[str, float]) -> None:
    count = len(latencies)
    print(
        f"{label}: p50 {percentile(latencies, 50):.1f} ms, p99 {percentile(latencies, 99):.1f}"
        f" ms, mean {sum(latencies) / count:.1f} ms"
    )
    for _, _, phase in PHASES:
        print(f"  {phase}: {spent[phase] / count:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--compare", action="store_true", help="also with every match scored")
    args = parser.parse_args()
    articles, warm, unseen = query_sets(args.data_dir)
    print(f"{len(articles):,} articles; {len(unseen)} unseen queries after {len(warm)} warm ones")
    for _ in range(3 if args.compare else 1):
        report("pruned", *run(args.data_dir, warm, unseen, pruned=True))
        if args.compare:
            report("every match scored", *run(args.data_dir, warm, unseen, pruned=False))


if __name__ == "__main__":
    main()
