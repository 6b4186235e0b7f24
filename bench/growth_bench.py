"""Growth: a day's new articles into a large live index, and the first searches that see them.

Usage: python -m bench.growth_bench DATA_DIR REUTERS_DATA_DIR [--articles N] [--seed S]

DATA_DIR holds an archive of ``bench.archive`` (it is changed: the new articles stay in it);
REUTERS_DATA_DIR the Reuters-21578 data folder the archive was made from. The benchmark makes
N new articles the same way (numbered after the archive's own, each headline carrying one
made-up word), warms a searcher as a serving process is warm, then:

- times ``search ingest`` of them, as an operator runs it (a new process: store, live index);
- times the searcher's next request, which must find every new article by the made-up word
  (the searcher notices the new version of the index by itself), and a few after it.

Prints the machine, the segments before and after, and the command's peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.archive import SEED, generate
from bench.common import machine_line, need
from bench.search_bench import headings, make_queries
from search.engine.searcher import Searcher
from search.request import Limits, SearchRequest

MARK = "zqxgrowth"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("reuters_dir", type=Path)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=SEED + 1)
    args = parser.parse_args()
    need(args.data_dir / "corpus.sqlite3")
    print(machine_line())
    searcher = Searcher(args.data_dir)
    before = searcher.view().searcher
    count = before.doc_count()
    segments = len(before.reader().leaf_readers())
    for params in make_queries(headings(args.data_dir))[:100]:  # a serving process is warm
        searcher.search(SearchRequest.from_params(params, Limits()))
    request = SearchRequest.from_params({"q": [MARK]}, Limits())
    earlier = searcher.search(request).total  # (the new articles of earlier runs)
    with tempfile.TemporaryDirectory() as tmp:
        new = Path(tmp) / "new.jsonl"
        with open(new, "w", encoding="utf-8") as out:
            for article in generate(args.reuters_dir, args.articles, args.seed, first=count):
                article["title"] += f" {MARK}"
                out.write(json.dumps(article) + "\n")
        started = time.perf_counter()
        command = ["ingest", str(new), "--index-dir", str(args.data_dir)]
        subprocess.run([sys.executable, "-m", "search.cli", *command], check=True)
        ingested = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"{count} articles in {segments} segments: {args.articles} more ingested in"
        f" {ingested:.1f} s (peak {peak:.0f} MB)"
    )
    for label in ("next request", "the one after", "and after"):
        started = time.perf_counter()
        found = searcher.search(request)
        took = (time.perf_counter() - started) * 1000
        new_found = found.total - earlier
        print(f"{label}: {took:.0f} ms, {new_found} of the {args.articles} new articles found")
    after = searcher.view().searcher.reader().leaf_readers()
    print(f"segments now: {len(after)}")


if __name__ == "__main__":
    main()
