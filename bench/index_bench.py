"""Indexing speed: Reuters-21578 through parse, clean, store and index, then `search reindex`.

Usage: python -m bench.index_bench [REUTERS_DIR] [--limit N]

Each phase is timed on its own (wall and CPU seconds, worker processes included, documents per
second); indexing runs in one process, then in one per core. Peak memory is the largest resident
size of this process, of the reindex subprocess and of its largest worker. The baseline,
measured in the same run, is SQLite FTS5 (porter unicode61) indexing the same titles and bodies.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import (
    SHARED_DATA,
    build_fts5,
    children_peak_rss_mb,
    machine_line,
    need,
    peak_rss_mb,
)
from search import settings
from search.clean import CleanError, clean_document
from search.engine import writer
from search.sources import Document, find_files, read_file
from search.store import CorpusStore

# `search reindex` in a process of its own that reports its own peak memory (VmHWM: the
# rusage figure of a process started by fork and exec keeps the memory of the process it was
# forked from).
REINDEX = """
import sys
from bench.common import vm_hwm_mb
from search.cli import main
try:
    main(["-q", "reindex", "--index-dir", sys.argv[1]], standalone_mode=False)
finally:
    print(f"peak RSS of `search reindex`: {vm_hwm_mb():.0f} MB", flush=True)
"""


def reindex(data_dir: Path) -> None:
    """Run `search reindex`; print the peak memory of its largest worker process."""
    process = subprocess.Popen([sys.executable, "-c", REINDEX, str(data_dir)])
    peaks: dict[int, float] = {}
    while process.poll() is None:
        peaks.update(children_peak_rss_mb(process.pid))  # the workers, while they live
        time.sleep(0.05)
    if process.returncode:
        raise subprocess.CalledProcessError(process.returncode, "search reindex")
    # Each worker's own peak, sampled every 50 ms (the resource tracker is a child too).
    print(f"peak RSS of its largest worker: {max(peaks.values(), default=0):.0f} MB")


class Phase:
    """Times a block: wall-clock and CPU seconds (its child processes' included)."""

    def __init__(self, name: str, count: int | None = None):
        self.name, self.count = name, count

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), self._cpu()
        return self

    @staticmethod
    def _cpu() -> float:
        # This process's CPU time and its finished children's (indexing workers, the reindex).
        times = os.times()
        return time.process_time() + times.children_user + times.children_system

    def __exit__(self, *exc):
        wall = time.perf_counter() - self.wall
        cpu = self._cpu() - self.cpu
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
        with Phase("index, 1 process", count):
            writer.build_generation(data_dir, articles, workers=1)
        with Phase(f"index, {settings.cores()} processes", count):
            writer.build_generation(data_dir, articles, workers=0)
        print(f"peak RSS of the benchmark process: {peak_rss_mb():.0f} MB")
        with Phase("`search reindex` (subprocess)", count):
            reindex(data_dir)
        with Phase("baseline SQLite FTS5 build", count):
            build_fts5(articles, Path(tmp) / "fts.sqlite3")


if __name__ == "__main__":
    main()
