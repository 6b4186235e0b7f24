"""Search latency: seeded sets of queries through the searcher API, against SQLite FTS5.

Usage: python -m bench.search_bench DATA_DIR [--rounds N] [--starts N]

DATA_DIR is a data folder (Reuters-21578: ``search ingest ../shared/data/reuters21578
--index-dir DATA_DIR``; or an archive of ``bench.archive``). Every query asks for the top 10
with snippets and facets, as the page does. Three figures:

- **warm**: 300 queries, run once to warm the caches, then timed over ``--rounds`` passes (what
  a popular query costs; mostly cache hits);
- **unseen**: after that warm-up, 300 other queries, none of them sharing a word with the warm
  ones, each timed once (what a reader's new query costs), with the maximum;
- **first query after a start**: a new process opens the index and answers one unseen query,
  ``--starts`` times (the median and the worst).

The baseline, measured in the same run, is SQLite FTS5 (porter unicode61) over the same titles
and bodies, queried as a bag of words with snippet(), warm and unseen alike.
"""

from __future__ import annotations

import argparse
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from bench.common import build_fts5, machine_line, need, summary
from search.engine.searcher import Searcher
from search.request import Limits, SearchRequest
from search.store import CorpusStore

SEED = 20261127
_WORD = re.compile(r"[a-z]{4,}")


def make_queries(
    articles: list, count_each: int = 50, seed: int = SEED
) -> list[dict[str, list[str]]]:
    """Return a seeded mix of queries, each as request parameters (300 with the default)."""
    rng = random.Random(seed)
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


class Heading(NamedTuple):
    """What the queries are made from: an article without its body."""

    title: str
    topics: list[str]
    people: list[str]


def headings(data_dir: Path) -> list[Heading]:
    """Every stored article's title, topics and people (a million articles' bodies would not
    fit in memory beside the index)."""
    with CorpusStore(data_dir) as store:
        return [Heading(a.title, a.topics, a.people) for a in store.articles()]


def query_words(params: dict[str, list[str]]) -> set[str]:
    """The words of a query's text and filters."""
    return set(_WORD.findall(" ".join(v for values in params.values() for v in values).lower()))


def unseen_queries(articles: list, warm: list[dict[str, list[str]]]) -> list[dict[str, list[str]]]:
    """300 queries (as many as ``warm``) of another seed that share no word with ``warm``."""
    seen = set().union(*map(query_words, warm))
    found: list[dict[str, list[str]]] = []
    seed = SEED
    while len(found) < len(warm):
        seed += 1
        found += [q for q in make_queries(articles, seed=seed) if not query_words(q) & seen]
    return found[: len(warm)]


def query_sets(data_dir: Path) -> tuple[list[Heading], list, list]:
    """Check that ``data_dir`` is a data folder, print the machine, and make the queries:
    (the articles' headings, the warm queries, the unseen ones)."""
    need(data_dir / "corpus.sqlite3")
    print(machine_line())
    articles = headings(data_dir)
    queries = make_queries(articles)
    return articles, queries, unseen_queries(articles, queries)


def run_product(data_dir: Path, queries, rounds: int, unseen) -> tuple[list[float], list[float]]:
    """Warm timings (``rounds`` passes over ``queries`` after one untimed), then one pass over
    the ``unseen`` queries."""
    searcher = Searcher(data_dir)
    requests = [SearchRequest.from_params(q, Limits()) for q in queries]
    for request in requests:  # warm the caches, as a serving process is
        searcher.search(request)
    warm = [timed(searcher.search, request) for _ in range(rounds) for request in requests]
    new = [timed(searcher.search, SearchRequest.from_params(q, Limits())) for q in unseen]
    return warm, new


def timed(function, *args) -> float:
    """Milliseconds that ``function(*args)`` takes."""
    started = time.perf_counter()
    function(*args)
    return (time.perf_counter() - started) * 1000


FIRST_QUERY = """
import sys, time
started = time.perf_counter()
from search.engine.searcher import Searcher
from search.request import SearchRequest
imported = time.perf_counter()
Searcher(sys.argv[1]).search(SearchRequest(q=sys.argv[2]))
print((time.perf_counter() - imported) * 1000, (imported - started) * 1000)
"""


def first_queries(data_dir: Path, queries, starts: int) -> list[tuple[float, float]]:
    """(first search, imports) in milliseconds, each in a new process."""
    found = []
    for params in queries[:starts]:
        out = subprocess.run(
            [sys.executable, "-c", FIRST_QUERY, str(data_dir), params["q"][0]],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        found.append((float(out[0]), float(out[1])))
    return found


def run_fts5(path: Path, queries, rounds: int, unseen) -> tuple[list[float], list[float]]:
    db = sqlite3.connect(path)
    sql = (
        "SELECT rowid, title, snippet(docs, 1, '<mark>', '</mark>', ' … ', 24) FROM docs"
        " WHERE docs MATCH ? ORDER BY rank LIMIT 10 OFFSET ?"
    )

    def prepared(query) -> tuple[str, int]:
        words = re.findall(r"\w+", query["q"][0].lower())
        words = [w for w in words if w not in ("title", "topic", "person")] or ["the"]
        offset = (int(query.get("page", ["1"])[0]) - 1) * 10
        return " OR ".join(f'"{w}"' for w in words), offset

    def run(expression: str, offset: int) -> None:
        db.execute(sql, (expression, offset)).fetchall()

    warm = [prepared(q) for q in queries]
    for expression, offset in warm:
        run(expression, offset)
    timings = [timed(run, *query) for _ in range(rounds) for query in warm]
    return timings, [timed(run, *prepared(q)) for q in unseen]


def main() -> None:
    """Run both engines over the same queries and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rounds", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--starts", type=int, default=5, help="new processes to time")
    args = parser.parse_args()
    articles, queries, unseen = query_sets(args.data_dir)
    print(
        f"corpus: {len(articles)} articles; {len(queries)} warm queries x {args.rounds} rounds, "
        f"{len(unseen)} unseen queries once"
    )
    # The first queries first, while the index's files are as cold as this machine keeps them.
    starts = first_queries(args.data_dir, unseen[::-1], args.starts)
    firsts = sorted(first for first, _ in starts)
    print(
        f"first query after a start (open the index, one unseen query; {len(starts)} processes):"
        f" median {statistics.median(firsts):.0f} ms, worst {firsts[-1]:.0f} ms"
        f" (imports before it: median {statistics.median(i for _, i in starts):.0f} ms)"
    )
    warm, new = run_product(args.data_dir, queries, args.rounds, unseen)
    print(summary("product, warm (top 10, snippets, facets)", warm))
    print(summary("product, unseen", new) + f" max={max(new):.2f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        fts = Path(tmp) / "fts.sqlite3"
        started = time.perf_counter()
        with CorpusStore(args.data_dir) as store:
            build_fts5(store.articles(), fts)
        print(f"(SQLite FTS5 built in {time.perf_counter() - started:.0f} s)")
        warm, new = run_fts5(fts, queries, args.rounds, unseen)
        print(summary("baseline SQLite FTS5, warm (top 10, snippet)", warm))
        print(summary("baseline SQLite FTS5, unseen", new) + f" max={max(new):.2f} ms")


if __name__ == "__main__":
    main()
