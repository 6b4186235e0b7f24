"""The timeline's cost per search at a million articles (search.engine.timeline).

Usage: .venv/bin/python -m bench.timeline_bench [--documents N] [--years Y] [--rounds R]

Builds the publication days of N documents (default 1,000,000) spread over Y years (default
30; 1% undated), as a version of the index reads them once, then times ``timeline()`` on
match sets of several sizes (as bitsets, as the searcher holds them) in the automatic unit
and by day: alone (the bitset's documents listed here), then as a search pays for it (its
facets have listed them already: DocSets.docnums keeps the latest). Baseline: numpy's
``bincount`` of as many day codes as are counted, the least any count of them can cost.
Prints percentiles in milliseconds and the machine.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.common import machine_line, summary
from search.engine.bitsets import docnum_array, packed
from search.engine.timeline import TICKS_PER_DAY, PublicationDays

EPOCH_DAY = 719162  # 1970-01-01 in days since year 1, where Whoosh's ticks start
FRACTIONS = (0.001, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0)


def main() -> None:
    """Time the timeline of match sets of several sizes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--years", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    print(machine_line() + f", numpy {np.__version__}")
    rng = np.random.default_rng(17)
    size = args.documents
    days = rng.integers(EPOCH_DAY + 9000, EPOCH_DAY + 9000 + 365 * args.years, size)
    ticks = days * TICKS_PER_DAY + rng.integers(0, TICKS_PER_DAY, size)
    ticks[rng.random(size) < 0.01] = 0
    started = time.perf_counter()
    found = PublicationDays(ticks, np.arange(size))
    print(
        f"{size:,} documents over {args.years} years: read once in "
        f"{(time.perf_counter() - started) * 1000:.0f} ms"
    )
    everything = packed(np.ones(size, dtype=bool))
    for fraction in FRACTIONS:
        matched = everything if fraction == 1.0 else packed(rng.random(size) < fraction)
        codes = found.codes[: int(size * min(fraction, 1 - fraction))].astype(np.intp)
        listed = {bits: docnum_array(bits, size) for bits in (matched, everything & ~matched)}
        known = PublicationDays(ticks, np.arange(size), listed.__getitem__)
        for unit, days, how in [(None, found, "alone"), ("day", found, "alone")] + [
            (None, known, "in a search"),
            ("day", known, "in a search"),
        ]:
            millis = []
            for _ in range(args.rounds):
                started = time.perf_counter()
                timeline = days.timeline(matched, everything, unit)
                millis.append((time.perf_counter() - started) * 1000)
            label = f"{fraction:>5.1%}, {timeline.unit} ({len(timeline.buckets)}), {how}"
            print(summary(label, millis))
        baseline = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            np.bincount(codes, minlength=len(found.days) + 1)
            baseline.append((time.perf_counter() - started) * 1000)
        print(summary("  baseline: bincount of as many codes", baseline))


if __name__ == "__main__":
    main()
