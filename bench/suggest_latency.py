"""Autocomplete latency: /api/suggest per keystroke, beside /api/health and /api/search baselines.

Usage: .venv/bin/python bench/suggest_latency.py [CORPUS ...] [--requests N]

Ingests the corpus (default: the demo corpus; e.g. ../shared/data/reuters21578 for Reuters)
into a temporary data folder, then times requests through the real Flask app in-process:
every prefix of 1 to 4 letters of sampled headline words, as a reader types them. Prints
medians and 90th percentiles in milliseconds, the machine and the library versions.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import tempfile
import time
from importlib import metadata
from pathlib import Path

from click.testing import CliRunner

from search.cli import main as search_cli
from web import create_app

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    """Cores, CPU model, Python and library versions."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("Whoosh-Reloaded", "Flask", "PyStemmer")
    )
    return f"{os.cpu_count()} cores, {model}; Python {platform.python_version()}; {versions}"


def timed(client, url: str) -> float:
    """Milliseconds for one request (it must succeed)."""
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed


def summary(name: str, samples: list[float]) -> str:
    """Median and 90th percentile of ``samples``."""
    p90 = statistics.quantiles(samples, n=10)[-1] if len(samples) > 1 else samples[0]
    median = statistics.median(samples)
    return f"{name:<34} median {median:7.2f} ms   p90 {p90:7.2f} ms   n={len(samples)}"


def run() -> None:
    """Ingest, warm up, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="*", default=[str(ROOT / "demo")])
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory(prefix="bench-suggest-") as tmp:
        data_dir = Path(tmp) / "index"
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
        search = [timed(client, f"/api/search?q={p}*") for p in prefixes[:100]]
        print(summary("baseline /api/health", health))
        print(summary("/api/suggest (1-4 letter prefixes)", suggest))
        print(summary("baseline /api/search?q=prefix*", search))


if __name__ == "__main__":
    run()
