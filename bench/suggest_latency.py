"""Autocomplete latency: /api/suggest per keystroke, beside /api/health and /api/search baselines.

Usage: .venv/bin/python -m bench.suggest_latency [CORPUS ...] [--index-dir DIR] [--requests N]

Ingests the corpus (default: the demo corpus; e.g. ../shared/data/reuters21578 for Reuters)
into a temporary data folder (or uses the data folder given by --index-dir), then times
requests through the real Flask app in-process: every prefix of 1 to 4 letters of sampled
headline words, as a reader types them. Prints percentiles in milliseconds, the machine and
the library versions.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from bench.common import ROOT, machine_line, summary
from search.cli import main as search_cli
from web import create_app


def timed(client, url: str) -> float:
    """Milliseconds for one request (it must succeed)."""
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def run() -> None:
    """Ingest, warm up, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*", default=[str(ROOT / "demo")])
    parser.add_argument("--index-dir", type=Path, help="an existing data folder to measure")
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="bench-suggest-") as tmp:
        data_dir = args.index_dir or Path(tmp) / "index"
        if not args.index_dir:
            result = CliRunner().invoke(
                search_cli, ["-q", "ingest", *args.corpus, "--index-dir", str(data_dir)]
            )
            print(result.output.strip().splitlines()[-1])
        client = create_app({"INDEX_DIR": str(data_dir)}).test_client()
        titles = [
            hit["title"] for hit in client.get("/api/search?per_page=100").get_json()["results"]
        ]
        words = [w.lower() for t in titles for w in t.split() if w.isalpha() and len(w) >= 4]
        rng = random.Random(4)
        prefixes = []
        while len(prefixes) < args.requests:
            word = rng.choice(words)
            prefixes += [word[:n] for n in range(1, 5)]
        prefixes = prefixes[: args.requests]
        cold = timed(client, "/api/suggest?q=a")  # builds the vocabulary of this index state
        print(f"first request (builds the vocabulary): {cold:.1f} ms")
        timed(client, "/api/health")
        timed(client, "/api/search?q=a")
        health = [timed(client, "/api/health") for _ in prefixes]
        suggest = [timed(client, f"/api/suggest?q={p}") for p in prefixes]
        search = [timed(client, f"/api/search?q={p}*") for p in prefixes[:40]]
        print(summary("baseline /api/health", health))
        print(summary("/api/suggest, 1-4 letter prefixes", suggest))
        print(summary("baseline /api/search?q=prefix*", search))


if __name__ == "__main__":
    run()
