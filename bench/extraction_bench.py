"""Article bodies against the extraction benchmark's true bodies: the product's cleaner beside
trafilatura alone, with the benchmark's own metric, and pages/s on every core.

Usage: python -m bench.extraction_bench [EXTRACTION_DIR] [--workers N] [--repeat 3] [--worst 10]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import multiprocessing
import os
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.common import SHARED_DATA, machine_line, need
from search import settings

# The benchmark's tokens: \w+ as Python's re finds them, case kept.
_TOKEN = re.compile(r"\w+")
SHINGLE = 4
HALVES = ("A (chosen on)", "B (checked on)")


def half(page_id: str) -> int:
    """The fixed half a page belongs to: 0 (the settings were chosen on it) or 1 (checked)."""
    return hashlib.sha256(page_id.encode()).digest()[0] % 2


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """The multiset of word 4-grams of ``text`` (one shorter n-gram when it has fewer words)."""
    tokens = _TOKEN.findall(text or "")
    return Counter(
        tuple(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1)) if tokens
    )


def page_counts(true: str, predicted: str) -> tuple[float, float, float]:
    """TP, FP and FN shingles of one page, normalised to sum to 1 (all 0 when both are empty)."""
    want, got = shingles(true), shingles(predicted)
    tp = sum((want & got).values())
    fp = sum((got - want).values())
    fn = sum((want - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _ratio(hit: float, other: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return hit / (hit + other) if hit + other else 0.0


def scores(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """F1, precision and recall as the benchmark computes them: precision is the mean over
    pages with a prediction, recall the mean over pages with a true body, F1 from the means."""
    precision = statistics.fmean(_ratio(tp, fp, fp, fn) for tp, fp, fn in counts if tp + fp > 0)
    recall = statistics.fmean(_ratio(tp, fn, fp, fn) for tp, fp, fn in counts if tp + fn > 0)
    return 2 * precision * recall / (precision + recall), precision, recall


def product_body(html: str, url: str) -> str:
    """The body the crawler and ingest store for this page ('' when the page is skipped)."""
    from search.clean.html import clean_html

    try:
        return clean_html(html, url).body
    except ValueError:
        return ""


def trafilatura_body(html: str, url: str) -> str:
    """Plain ``trafilatura.extract`` with its defaults."""
    import trafilatura

    return trafilatura.extract(html, url=url) or ""


EXTRACTORS: dict[str, Callable[[str, str], str]] = {
    "product cleaner": product_body,
    "trafilatura alone": trafilatura_body,
}


def _quiet() -> None:
    for name in ("trafilatura", "htmldate", "courlan", "justext", "readability"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _run(job: tuple[str, str, str]) -> tuple[str, float]:
    """One page through one extractor in a worker: its text and the CPU seconds it took."""
    name, html, url = job
    started = time.process_time()
    text = EXTRACTORS[name](html, url)
    return text, time.process_time() - started


def load_pages(folder: Path) -> list[tuple[str, str, str, str]]:
    """(id, url, decoded html, true body) for every page of the benchmark."""
    from search.clean.html import decode_html

    truth = json.loads((folder / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for page_id in sorted(truth):
        raw = gzip.decompress((folder / "html" / f"{page_id}.html.gz").read_bytes())
        entry = truth[page_id]
        pages.append((page_id, entry["url"], decode_html(raw), entry["articleBody"]))
    return pages


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=SHARED_DATA / "extraction")
    parser.add_argument("--workers", type=int, default=settings.cores())
    parser.add_argument("--repeat", type=int, default=3, help="timed passes over the pages")
    parser.add_argument("--worst", type=int, default=10, help="worst pages of the cleaner listed")
    args = parser.parse_args()
    pages = load_pages(need(args.folder))
    _quiet()
    print(machine_line())
    print(f"load average at the start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"pages: {len(pages)} ({sum(half(p[0]) == 0 for p in pages)} in half A, "
          f"{sum(half(p[0]) == 1 for p in pages)} in half B, split by sha256(id)); "
          f"{args.workers} worker processes, {args.repeat} timed passes")  # fmt: skip
    context = multiprocessing.get_context("spawn")
    results: dict[str, list[str]] = {}
    with ProcessPoolExecutor(args.workers, mp_context=context, initializer=_quiet) as pool:
        for name in EXTRACTORS:
            jobs = [(name, html, url) for _, url, html, _ in pages]
            list(pool.map(_run, jobs[: args.workers * 2]))  # imports and caches warmed
            rates, cpu = [], []
            for _ in range(args.repeat):
                started = time.perf_counter()
                done = list(pool.map(_run, jobs))
                rates.append(len(jobs) / (time.perf_counter() - started))
                cpu.append(sum(seconds for _, seconds in done) / len(jobs))
            results[name] = [text for text, _ in done]
            print(f"\n{name}: {statistics.median(rates):.1f} pages/s on {args.workers} processes "
                  f"(passes: {', '.join(f'{r:.1f}' for r in rates)}); "
                  f"{statistics.median(cpu) * 1000:.1f} ms of CPU a page")  # fmt: skip
            for label, members in [*zip(HALVES, (0, 1), strict=True), ("all", None)]:
                counts = [
                    page_counts(true, text)
                    for (page_id, _, _, true), text in zip(pages, results[name], strict=True)
                    if members is None or half(page_id) == members
                ]
                f1, precision, recall = scores(counts)
                print(f"  {label:<16} F1 {f1:.4f}  precision {precision:.4f}  recall {recall:.4f}"
                      f"  ({len(counts)} pages)")  # fmt: skip
    print(f"\nload average at the end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.worst:
        print(f"\nworst {args.worst} pages of the product cleaner (page F1, precision, recall):")
        rows = []
        for (page_id, url, _, true), text in zip(pages, results["product cleaner"], strict=True):
            tp, fp, fn = page_counts(true, text)
            p, r = _ratio(tp, fp, fp, fn), _ratio(tp, fn, fp, fn)
            rows.append((2 * p * r / (p + r) if p + r else 0.0, p, r, page_id, url))
        for f1, p, r, page_id, url in sorted(rows)[: args.worst]:
            print(f"  {f1:.3f} {p:.3f} {r:.3f} {'AB'[half(page_id)]} {page_id[:12]} {url}")


if __name__ == "__main__":
    sys.exit(main())
