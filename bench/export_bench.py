"""Export: /api/export of a 20,000-match Reuters search, its rows counted, with peak memory.

Usage: .venv/bin/python -m bench.export_bench [REUTERS_DIR] [--index-dir DIR]

Ingests Reuters-21578 (default ../shared/data/reuters21578, or SEARCH_DATA_DIR) into a
temporary data folder, or uses the data folder given by --index-dir. Then, for each export
(every article newest first, and a 20,000-match query in rank order; CSV and JSON Lines),
starts a fresh process that builds the real Flask app, warms it with the same search as
/api/search (so that the index's caches are in memory before the figures are taken), and
streams the export through the app (Flask's test client, unbuffered), counting rows as they
come: once stopping after 1,000 rows, once reading them all. Each prints its rows, rows/s,
the process's peak resident memory (ru_maxrss) before the export and at its end, and the
peak of Python's own allocations during it (tracemalloc, in a third process of its own, since
tracing slows the export). Memory is flat when reading every row costs what reading 1,000
does. Baseline, in the same run: the same rows built in memory first and then written, as
an export that does not stream would (through the same engine, the rows as dicts, then the
CSV's bytes).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlencode

from click.testing import CliRunner

from bench.common import SHARED_DATA, machine_line, need, peak_rss_mb
from search import export as formats
from search.cli import main as search_cli
from search.request import Limits, SearchRequest
from web import create_app

# (label, the export's parameters) — each at least 20,000 rows of Reuters-21578.
WORDS = "said year mln pct dlrs shr cts net vs company market trade price bank share rate oil new"
EXPORTS = [
    ("every article, newest first", {"q": "", "collapse": "0"}),
    ("18 common words (OR), rank order", {"q": " OR ".join(WORDS.split()), "collapse": "0"}),
]
FIRST = 1000  # rows read by the short run
# (format, rows to read: 0 for all) of each export; "buffered" is the baseline
RUNS = [("csv", FIRST), ("csv", 0), ("jsonl", FIRST), ("jsonl", 0), ("buffered", 0)]


def _rows(chunks, form: str, limit: int | None) -> int:
    """Count the rows of an export's body (``chunks`` of bytes) up to ``limit``."""
    count = 0
    if form == "jsonl":
        for chunk in chunks:
            for line in chunk.splitlines():
                json.loads(line)
                count += 1
                if limit and count >= limit:
                    return count
        return count
    lines = (line for chunk in chunks for line in chunk.decode().splitlines(keepends=True))
    reader = csv.reader(lines)
    next(reader)  # the header
    for _ in reader:
        count += 1
        if limit and count >= limit:
            return count
    return count


def child(data_dir: Path, params: dict[str, str], form: str, limit: int, trace: bool) -> None:
    """One export in this process (form "buffered": the baseline); prints its figures as
    JSON."""
    app = create_app({"INDEX_DIR": str(data_dir)})
    client = app.test_client()
    search = client.get("/api/search?" + urlencode(params))
    assert search.status_code == 200, search.get_data(as_text=True)
    before = peak_rss_mb()
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    if form == "buffered":
        request = SearchRequest.from_params({k: [v] for k, v in params.items()}, Limits())
        found = app.extensions["searcher"].export(request)
        rows = [row for batch in found.batches() for row in batch]
        body = b"".join(formats.encode([rows], "csv", snippets=False))
        rows, total = _rows([body], "csv", None), found.total
    else:
        url = "/api/export?" + urlencode(params | {"format": form})
        response = client.get(url, buffered=False)
        assert response.status_code == 200, response.status_code
        rows = _rows(response.response, form, limit or None)
        response.close()  # (stops the export when it was cut short)
        total = int(response.headers["X-Total-Count"])
    seconds = time.perf_counter() - started
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    figures = {"rows": rows, "seconds": seconds, "rss_before": before, "rss_peak": peak_rss_mb()}
    print(json.dumps(figures | {"traced_peak": traced, "total": total}))


def _run(data_dir: Path, params: dict, form: str, limit: int, trace: bool = False) -> dict:
    """Run one export in a fresh process; its figures."""
    args = [sys.executable, "-m", "bench.export_bench", "--child", json.dumps(params)]
    args += ["--index-dir", str(data_dir), "--format", form, "--limit", str(limit)]
    if trace:
        args.append("--trace")
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run() -> None:
    """Ingest (unless given a data folder), then measure each export in fresh processes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=SHARED_DATA / "reuters21578")
    parser.add_argument("--index-dir", type=Path, help="a data folder that holds Reuters")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)
    parser.add_argument("--limit", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.index_dir, json.loads(args.child), args.format, args.limit, args.trace)
        return
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        data_dir = args.index_dir
        if data_dir is None:
            data_dir = Path(tmp) / "index"
            argv = ["-q", "ingest", str(need(args.corpus)), "--index-dir", str(data_dir)]
            result = CliRunner().invoke(search_cli, argv)
            print(result.output.strip().splitlines()[-1])
        print(
            f"{'export':<36}{'format':>32}{'rows':>8}{'rows/s':>9}{'RSS before':>12}"
            f"{'RSS peak':>10}{'growth':>8}{'traced peak':>13}"
        )
        for label, params in EXPORTS:
            for form, limit in RUNS:
                figures = _run(data_dir, params, form, limit)
                traced = _run(data_dir, params, form, limit, trace=True)["traced_peak"]
                assert limit or figures["rows"] == figures["total"] >= 20_000, figures
                growth = figures["rss_peak"] - figures["rss_before"]
                name = "CSV built in memory (baseline)" if form == "buffered" else form
                print(
                    f"{label:<36}{name:>32}{figures['rows']:>8}"
                    f"{figures['rows'] / figures['seconds']:>9.0f}"
                    f"{figures['rss_before']:>9.1f} MB{figures['rss_peak']:>7.1f} MB"
                    f"{growth:>6.1f} MB{traced:>10.2f} MB"
                )


if __name__ == "__main__":
    run()
