"""Request counts and latencies per endpoint, served at /metrics in the Prometheus text format."""

from __future__ import annotations

import functools
import os
import time
from typing import Any

from flask import Flask, Response, g, request

# Label values come from a fixed set, so a client cannot grow the series without bound.
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@functools.cache
def _instruments() -> tuple[Any, Any]:
    """The request counter and latency histogram, created once per process.

    prometheus-client chooses between one process and many (PROMETHEUS_MULTIPROC_DIR) when it
    is first imported; gunicorn imports this package for its settings before those settings
    name that folder, so the import waits until a worker builds the app.
    """
    from prometheus_client import Counter, Histogram

    requests = Counter(
        "search_http_requests",
        "HTTP requests answered, by endpoint, method and status code.",
        ["endpoint", "method", "status"],
    )
    latency = Histogram(
        "search_http_request_duration_seconds",
        "Seconds taken to answer an HTTP request, by endpoint.",
        ["endpoint"],
        buckets=_BUCKETS,
    )
    return requests, latency


def exposition() -> tuple[bytes, str]:
    """The metrics of this process, or of every gunicorn worker sharing a multiprocess folder."""
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        REGISTRY,
        CollectorRegistry,
        generate_latest,
        multiprocess,
    )

    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return generate_latest(registry), CONTENT_TYPE_LATEST


def init_app(app: Flask) -> None:
    """Count and time every request, and serve the figures at ``/metrics``."""
    requests, latency = _instruments()

    @app.before_request
    def start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def record(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        # The view's own name ("api_search", not "views.api_search"): dashboards read these.
        endpoint = (request.endpoint or "unmatched").rpartition(".")[2]
        method = request.method if request.method in _METHODS else "other"
        requests.labels(endpoint, method, str(response.status_code)).inc()
        if started is not None:
            latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics():
        """Request counts and latencies in the Prometheus text format."""
        body, content_type = exposition()
        return Response(body, content_type=content_type)
