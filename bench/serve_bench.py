"""Serving: gunicorn with the production settings under a bounded load on 127.0.0.1.

Usage: python -m bench.serve_bench DATA_DIR [--requests N] [--concurrency C]

Starts `gunicorn -c python:web.gunicorn_conf 'web:create_app()'` on a free loopback port over
DATA_DIR, sends a fixed number of requests from C client threads (keep-alive connections),
first to /api/search, then to the search page /, and prints requests/s, latency percentiles,
errors and the peak resident memory of each worker. It stops by itself.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from bench.common import ROOT, children_peak_rss_mb, machine_line, memory_split_mb, need, summary
from bench.search_bench import headings, make_queries


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("gunicorn did not start")


def load(port: int, paths: list[str], requests: int, concurrency: int):
    """Send GETs over ``concurrency`` keep-alive connections; return latencies, errors, time."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in counter:
            path = paths[n % len(paths)]
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException) as error:
                ok = False
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                response = error
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors.append(f"{path}: {getattr(response, 'status', response)}")
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors, time.perf_counter() - started


def main() -> None:
    """Start gunicorn, load it, print the figures, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    need(args.data_dir / "corpus.sqlite3")
    print(machine_line())
    queries = make_queries(headings(args.data_dir))
    paths = [urllib.parse.urlencode(q, doseq=True) for q in queries]
    port = free_port()
    env = {**os.environ, "SEARCH_INDEX_DIR": str(args.data_dir.resolve())}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:web.gunicorn_conf",
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "web:create_app()",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_until_up(port, time.monotonic() + 30)
        for label, prefix in (("/api/search", "/api/search?"), ("/ (page)", "/?")):
            urls = [prefix + p for p in paths]
            load(port, urls[:50], 100, args.concurrency)  # warm every worker's searcher
            latencies, errors, seconds = load(port, urls, args.requests, args.concurrency)
            print(
                f"{label}: {args.requests} requests, {args.concurrency} clients, {seconds:.1f} s"
                f" = {args.requests / seconds:.0f} req/s, {len(errors)} errors"
            )
            print(summary(f"  {label} latency", latencies))
            for error in errors[:5]:
                print(f"  error: {error}")
        peaks = children_peak_rss_mb(server.pid)
        print(f"peak RSS per worker: {', '.join(f'{p:.0f} MB' for p in peaks.values())}")
        for worker in peaks:
            split = memory_split_mb(worker)
            if split:
                print(
                    f"  worker {worker} now: {split[0]:.0f} MB its own, {split[1]:.0f} MB of"
                    " mapped index files (page cache, shared by the workers)"
                )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
