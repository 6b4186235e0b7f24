"""Search latency: a fixed, seeded set of queries through the searcher API, against SQLite FTS5.

Usage: python -m bench.search_bench DATA_DIR [--rounds N]

DATA_DIR is a data folder holding Reuters-21578 (``search ingest ../shared/data/reuters21578
--index-dir DATA_DIR``). Every query asks for the top 10 with snippets and facets, as the page
does. The baseline, measured in the same run, is SQLite FTS5 (porter unicode61) over the same
titles and bodies, queried as a bag of words with snippet().
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.common import build_fts5, machine_line, need, summary
from search.engine.searcher import Searcher
from search.request import Limits, SearchRequest
from search.store import CorpusStore

SEED = 20261127
_WORD = re.compile(r"[a-z]{4,}")


def make_queries(articles: list, count_each: int = 50) -> list[dict[str, list[str]]]:
    """Return a seeded mix of queries, each as request parameters (300 with the default)."""
    rng = random.Random(SEED)
    titled = [a for a in articles if len(_WORD.findall(a.title.lower())) >= 3]
    topics = sorted({t for a in articles for t in a.topics})
    people = sorted({p for a in articles for p in a.people})
    queries: list[dict[str, list[str]]] = []

    def words(k: int) -> str:
        return " ".join(rng.sample(_WORD.findall(rng.choice(titled).title.lower()), k))

    for i in range(count_each):
        queries.append({"q": [words(2 + i % 2)]})
        pair = _WORD.findall(rng.choice(titled).title.lower())
        start = rng.randrange(len(pair) - 1)
        queries.append({"q": [f'"{pair[start]} {pair[start + 1]}"']})
        field = rng.choice(
            [f"title:{words(1)}", f"topic:{rng.choice(topics)}", f'person:"{rng.choice(people)}"']
        )
        queries.append({"q": [field]})
        queries.append({"q": [words(2)], "topic": [rng.choice(topics[:40])]})
        queries.append({"q": [words(2)], "sort": ["newest"]})
        queries.append({"q": [words(2)], "page": [str(rng.randint(2, 5))]})
    return queries


def run_product(data_dir: Path, queries, rounds: int) -> list[float]:
    searcher = Searcher(data_dir)
    requests = [SearchRequest.from_params(q, Limits()) for q in queries]
    for request in requests:  # warm the caches, as a serving process is
        searcher.search(request)
    timings = []
    for _ in range(rounds):
        for request in requests:
            started = time.perf_counter()
            searcher.search(request)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def run_fts5(path: Path, queries, rounds: int) -> list[float]:
    db = sqlite3.connect(path)
    sql = (
        "SELECT rowid, title, snippet(docs, 1, '<mark>', '</mark>', ' … ', 24) FROM docs"
        " WHERE docs MATCH ? ORDER BY rank LIMIT 10 OFFSET ?"
    )
    prepared = []
    for query in queries:
        words = re.findall(r"\w+", query["q"][0].lower())
        words = [w for w in words if w not in ("title", "topic", "person")] or ["the"]
        offset = (int(query.get("page", ["1"])[0]) - 1) * 10
        prepared.append((" OR ".join(f'"{w}"' for w in words), offset))
    for expression, offset in prepared:
        db.execute(sql, (expression, offset)).fetchall()
    timings = []
    for _ in range(rounds):
        for expression, offset in prepared:
            started = time.perf_counter()
            db.execute(sql, (expression, offset)).fetchall()
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    """Run both engines over the same queries and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the queries")
    args = parser.parse_args()
    need(args.data_dir / "corpus.sqlite3")
    print(machine_line())
    with CorpusStore(args.data_dir) as store:
        articles = list(store.articles())
    queries = make_queries(articles)
    print(f"corpus: {len(articles)} articles; {len(queries)} queries x {args.rounds} rounds")
    product = run_product(args.data_dir, queries, args.rounds)
    print(summary("product (top 10, snippets, facets)", product))
    with tempfile.TemporaryDirectory() as tmp:
        fts = Path(tmp) / "fts.sqlite3"
        build_fts5(articles, fts)
        print(
            summary("baseline SQLite FTS5 (top 10, snippet)", run_fts5(fts, queries, args.rounds))
        )


if __name__ == "__main__":
    main()
