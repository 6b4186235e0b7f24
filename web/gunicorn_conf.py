"""Production gunicorn settings: `gunicorn -c python:web.gunicorn_conf 'web:create_app()'`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("SEARCH_BIND", "0.0.0.0:8000")
# Processes for the CPU-bound work (one per core), threads to overlap what waits on disk and
# network; each thread keeps its own index searcher.
workers = multiprocessing.cpu_count()
threads = 4
worker_class = "gthread"
accesslog = "-"
# A slow query must not hold a worker forever; a request that takes this long is a bug.
timeout = 30
# gunicorn's control socket (for its `gunicornc` tool) is one path per user by default,
# ~/.gunicorn/gunicorn.ctl: every server on the machine would share it, and stopping one
# deletes the others'. Nothing here uses it: a server is stopped (TERM, Ctrl-C), reloaded (HUP)
# and resized (TTIN, TTOU) with signals, and watched through /api/health and /metrics.
control_socket_disable = True

# /metrics adds up every worker's counts from files in this folder (prometheus-client's
# multiprocess mode): a fresh one per server, unless the environment names one.
_metrics_dir = None
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)
else:
    _metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="metrics-")


def on_exit(server):
    """Remove the metrics folder made for this server."""
    if _metrics_dir:
        shutil.rmtree(_metrics_dir, ignore_errors=True)
