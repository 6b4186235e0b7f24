"""Crawl benchmark: a generated news site on 127.0.0.1, crawled end to end, and cleaning alone.

Prints the machine, the versions, and medians of pages/s for: fetching alone (the baseline: the
same pages over the same loopback server, no cleaning, no store), the whole crawl (`search crawl`
with no politeness delay: fetch, store, clean on every core, index), and cleaning alone on one
process and on every core. Run from the repository root:

    .venv/bin/python -m bench.crawl_bench [--pages 1200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from importlib.metadata import version

import urllib3

from bench.common import ROOT, machine_line
from bench.crawl_site import Site, links_page
from search import settings
from search.crawl.process import init_worker, process_body
from search.engine.writer import update_live
from search.store import CorpusStore

CRAWL_PACKAGES = ("urllib3", "protego", "feedparser", "courlan", "lxml")

WORDS = (
    "government market election minister budget trade energy climate court police health "
    "school transport housing bank inflation export harvest storm river council strike union "
    "festival museum league coach season vaccine hospital airport railway port factory wages "
    "parliament treaty border summit talks protest report survey study data growth prices"
).split()


def article(n: int, rng: random.Random) -> str:
    """One generated news article: headline, date, five paragraphs of varied words."""
    title = " ".join(rng.choice(WORDS) for _ in range(5)).capitalize() + f" ({n})"
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 90))) + ".</p>"
        for _ in range(5)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title} | Bench"
        f" News</title></head><body><nav><a href='/'>Home</a> <a href='/section/0'>Top</a></nav>"
        f"<article><h1>{title}</h1><time datetime='2026-01-{n % 28 + 1:02d}'>Jan</time>"
        f"{paragraphs}</article><footer>Bench News, all rights reserved</footer></body></html>"
    )


def build_site(pages: int) -> Site:
    """A site of ``pages`` articles, linked from sections of 50, plus a home page."""
    rng = random.Random(7)
    site = Site()
    paths = [f"/news/{n}" for n in range(pages)]
    for n, path in enumerate(paths):
        site.page(path, article(n, rng))
    sections = [paths[i : i + 50] for i in range(0, pages, 50)]
    for i, links in enumerate(sections):
        site.page(f"/section/{i}", links_page(f"Section {i}", links))
    site.page("/", links_page("Bench News", [f"/section/{i}" for i in range(len(sections))]))
    site.page("/robots.txt", "User-agent: *\nAllow: /\n", "text/plain")
    return site.start()


def fetch_only(site: Site, paths: list[str], threads: int) -> float:
    """Baseline: GET every page over the same server with urllib3, nothing else; pages/s."""
    pool = urllib3.PoolManager(maxsize=threads)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as executor:
        list(executor.map(lambda p: pool.request("GET", site.base + p).data, paths))
    return len(paths) / (time.perf_counter() - started)


def crawl_once(site: Site, pages: int, concurrency: int) -> tuple[float, int, str]:
    """`search crawl` into a fresh data folder; returns pages/s, pages fetched, the folder."""
    data_dir = tempfile.mkdtemp(prefix="bench-crawl-")
    command = [
        sys.executable, "-m", "search.cli", "-q", "crawl", site.base + "/", "--allow-private",
        "--delay", "0", "--concurrency", str(concurrency), "--per-host", str(concurrency),
        "--max-pages", str(pages * 2), "--index-dir", data_dir,
    ]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"crawl failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    with CorpusStore(data_dir) as store:
        fetched, articles = store.count_pages(), store.count()
    if articles != pages:
        raise SystemExit(f"expected {pages} articles, the crawl stored {articles}")
    return fetched / elapsed, fetched, data_dir


def clean_only(data_dir: str, workers: int) -> tuple[float, float]:
    """Clean every stored page of a crawl with ``workers`` processes.

    Returns pages/s (wall clock) and the workers' CPU milliseconds per page, which other work on
    a shared machine does not inflate.
    """
    with CorpusStore(data_dir) as store:
        pages = list(store.pages())
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=init_worker) as pool:
        args = [(p.url, p.final_url, p.body, p.content_type, p.charset, 10**7) for p in pages]
        # Every worker started and warm (imports, first page) before the clock starts.
        list(pool.map(_warm, [args[0]] * (workers * 3)))
        before = _worker_cpu(pool, workers)
        started = time.perf_counter()
        results = list(pool.map(_clean, args, chunksize=8))
        elapsed = time.perf_counter() - started
        after = _worker_cpu(pool, workers)
    assert sum(r.article is not None for r in results) >= len(pages) * 0.9
    cpu = sum(after[pid] - before.get(pid, after[pid]) for pid in after)
    return len(pages) / elapsed, 1000 * cpu / len(pages)


def _worker_cpu(pool: ProcessPoolExecutor, workers: int) -> dict[int, float]:
    """CPU seconds used so far by each worker of ``pool``."""
    readings: dict[int, float] = {}
    for pid, seconds in pool.map(_cpu_seconds, range(workers * 3)):
        readings[pid] = max(seconds, readings.get(pid, 0.0))
    return readings


def _cpu_seconds(_: int) -> tuple[int, float]:
    times = os.times()
    time.sleep(0.2)  # long enough that every worker answers some of these
    return os.getpid(), times.user + times.system


def index_only(data_dir: str) -> float:
    """Write a crawl's articles into the live index of a fresh data folder, as a crawl does; /s."""
    with CorpusStore(data_dir) as store:
        articles = list(store.articles())
    target = tempfile.mkdtemp(prefix="bench-index-")
    try:
        started = time.perf_counter()
        for i in range(0, len(articles), 200):  # the crawler's publishing batches
            update_live(target, articles[i : i + 200])
        return len(articles) / (time.perf_counter() - started)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _warm(args: tuple) -> None:
    process_body(*args)
    time.sleep(0.3)  # long enough that every worker gets some of these


def _clean(args: tuple):
    return process_body(*args)


def machine() -> str:
    """The shared machine line, plus the crawler's own libraries."""
    return machine_line() + "; " + ", ".join(f"{n} {version(n)}" for n in CRAWL_PACKAGES)


def main() -> None:
    """Run the benchmark and print its medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1200, help="articles on the site (>= 1000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement")
    parser.add_argument("--concurrency", type=int, default=4, help="crawler requests in flight")
    args = parser.parse_args()
    print(machine())
    print("load average at the start: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    cores = settings.cores()
    site = build_site(args.pages)
    try:
        paths = [f"/news/{n}" for n in range(args.pages)]
        baseline = [fetch_only(site, paths, args.concurrency) for _ in range(args.repeat)]
        crawls = [crawl_once(site, args.pages, args.concurrency) for _ in range(args.repeat)]
    finally:
        site.stop()
    data_dir = crawls[-1][2]
    one: list[tuple[float, float]] = []
    every: list[tuple[float, float]] = []
    indexing: list[float] = []
    try:
        # Interleaved, so that other work on the machine weighs on both alike.
        for _ in range(args.repeat):
            one.append(clean_only(data_dir, 1))
            every.append(clean_only(data_dir, cores))
            indexing.append(index_only(data_dir))
    finally:
        for _, _, folder in crawls:
            shutil.rmtree(folder, ignore_errors=True)
    fetched = crawls[-1][1]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"site: {args.pages} articles, {fetched} pages per crawl; {args.repeat} runs each")
    print(f"load average at the end (other work on the machine): {load}")
    rows = [
        (f"baseline: fetch only, {args.concurrency} threads", baseline),
        ("crawl end to end, no delay", [c[0] for c in crawls]),
        ("cleaning alone, 1 process", [r[0] for r in one]),
        (f"cleaning alone, {cores} processes", [r[0] for r in every]),
        ("indexing alone (live index, 200 a batch)", indexing),
    ]
    for label, values in rows:
        print(f"{label:<40} {statistics.median(values):7.1f} pages/s (median)")
    cpu = statistics.median(r[1] for r in one + every)
    print(
        f"cleaning CPU per page (median): {cpu:.1f} ms, so {1000 / cpu:.0f} pages/s per idle core"
        f" and {cores * 1000 / cpu:.0f} pages/s on {cores} idle cores"
    )


if __name__ == "__main__":
    main()
