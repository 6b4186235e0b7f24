"""How a query of one field clause ranks: `topics:X` on Reuters, three orders compared.

Usage: python -m bench.field_ranking DATA_DIR   (a data folder holding Reuters-21578)

Reuters-21578 has no relevance judgments for `topics:coffee`, but it says which stories are
about one topic only: a story tagged coffee and nothing else is about coffee, one tagged coffee,
sugar and cocoa is a market report that mentions it. For every topic with at least 20 stories,
the share of such single-topic stories among the first 10 results (P@10), under the product's
ranking (BM25 on the field: a story tagged with fewer topics is more about each), newest first,
and index order.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from bench.common import machine_line
from search.engine.searcher import Searcher
from search.request import SearchRequest
from search.store import CorpusStore

MIN_STORIES = 20


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args(argv)
    with CorpusStore(args.data_dir) as store:
        articles = list(store.articles())
    by_topic: dict[str, list] = {}
    for article in articles:
        for topic in article.topics:
            by_topic.setdefault(topic, []).append(article)
    precision: dict[str, list[float]] = {"product": [], "newest first": [], "index order": []}
    with Searcher(args.data_dir) as searcher:
        for topic, stories in sorted(by_topic.items()):
            if len(stories) < MIN_STORIES:
                continue
            single = {a.id for a in stories if a.topics == [topic]}
            q = f'topics:"{topic}"'
            orders = {
                "product": searcher.search(SearchRequest(q=q)).results,
                "newest first": searcher.search(SearchRequest(q=q, sort="newest")).results,
            }
            ranked = {name: [hit.id for hit in hits] for name, hits in orders.items()}
            ranked["index order"] = [a.id for a in stories][:10]
            for name, ids in ranked.items():
                precision[name].append(sum(i in single for i in ids) / 10)
    print(machine_line())
    print(f"{len(precision['product'])} topics of at least {MIN_STORIES} stories")
    for name, values in precision.items():
        print(f"  {name:<13} single-topic P@10 {statistics.fmean(values):.3f}")


if __name__ == "__main__":
    main()
