"""Production gunicorn settings: `gunicorn -c python:web.gunicorn_conf 'web:create_app()'`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("SEARCH_BIND", "0.0.0.0:8000")
# Processes for the CPU-bound work (one per core), threads to overlap what waits on disk and
# network; each thread keeps its own index searcher.
workers = multiprocessing.cpu_count()
threads = 4
worker_class = "gthread"
accesslog = "-"
# A slow query must not hold a worker forever; a request that takes this long is a bug.
timeout = 30
