"""Indexing speed: Reuters-21578 through parse, clean, store and index, then `search reindex`.

Usage: python -m bench.index_bench [REUTERS_DIR] [--limit N]

Each phase is timed on its own (wall and CPU seconds, documents per second); peak memory is the
largest resident size of this process and of the reindex subprocess. The baseline, measured in
the same run, is SQLite FTS5 (porter unicode61) indexing the same titles and bodies.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import SHARED_DATA, build_fts5, machine_line, need, peak_rss_mb
from search import indexer
from search.clean import CleanError, clean_document
from search.scrape.files import Document, find_files, read_file
from search.store import CorpusStore

# `search reindex` in a process of its own that reports its own peak memory (a child's
# RUSAGE_CHILDREN figure would include the parent's memory, copied at fork).
REINDEX = """
import resource, sys
from search.cli import main
try:
    main(["-q", "reindex", "--index-dir", sys.argv[1]], standalone_mode=False)
finally:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of `search reindex`: {peak:.0f} MB", flush=True)
"""


class Phase:
    """Times a block: wall-clock and CPU seconds."""

    def __init__(self, name: str, count: int | None = None):
        self.name, self.count = name, count

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        rate = f", {self.count / wall:,.0f} docs/s" if self.count else ""
        print(f"{self.name:<28} {wall:7.2f} s wall {cpu:7.2f} s CPU{rate}", flush=True)


def main() -> None:
    """Run every phase over the collection and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reuters", nargs="?", type=Path, default=SHARED_DATA / "reuters21578")
    parser.add_argument("--limit", type=int, default=None, help="stop after N stories")
    args = parser.parse_args()
    files, _ = find_files([need(args.reuters)])
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "index"
        with Phase("parse (read + split SGML)"):
            documents = [d for f in files for d in read_file(f) if isinstance(d, Document)]
            documents = documents[: args.limit]
        with Phase("clean", len(documents)):
            articles = []
            for document in documents:
                with contextlib.suppress(CleanError):  # the one story without text
                    articles.append(clean_document(document))
        count = len(articles)
        with Phase("store (SQLite upsert)", count), CorpusStore(data_dir) as store:
            for start in range(0, count, 500):
                store.upsert(articles[start : start + 500])
        with Phase("index (one generation)", count):
            indexer.build_generation(data_dir, articles)
        print(f"peak RSS of the benchmark process: {peak_rss_mb():.0f} MB")
        with Phase("`search reindex` (subprocess)", count):
            subprocess.run([sys.executable, "-c", REINDEX, str(data_dir)], check=True)
        with Phase("baseline SQLite FTS5 build", count):
            build_fts5(articles, Path(tmp) / "fts.sqlite3")


if __name__ == "__main__":
    main()
