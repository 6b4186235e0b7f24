"""Every option of the service, defined once: it feeds the CLI, the web config and the README."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

ENV_PREFIX = "SEARCH_"


@dataclass(frozen=True)
class Setting:
    """One option: its name (environment variable without the prefix), default and help text."""

    name: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        """The environment variable that sets this option."""
        return ENV_PREFIX + self.name


SETTINGS = [
    Setting("INDEX_DIR", "index", "Data folder: the corpus store and the index generations."),
    Setting("PER_PAGE", 10, "Results per page when the request does not say."),
    Setting("MAX_PER_PAGE", 100, "Largest per_page a request may ask for."),
    Setting("MAX_DEPTH", 1000, "Deepest result a request may page to (page × per_page)."),
    Setting("MAX_QUERY_LENGTH", 1000, "Longest query, in characters; longer ones get a 400."),
    Setting(
        "MAX_EXPANSION",
        1000,
        "Most index words the wildcards and fuzzy words of one query may expand to, in all.",
    ),
    Setting(
        "MAX_CONTENT_LENGTH",
        65536,
        "Largest request body, in bytes; larger ones get a 413 (the service reads none).",
    ),
    Setting(
        "CORS_ORIGINS",
        "",
        "Sites whose pages may call the JSON API (origins such as https://example.org, "
        "separated by spaces or commas; * for any); empty: none.",
    ),
    Setting(
        "FEEDBACK",
        0.3,
        "The share of a query that pseudo-relevance feedback's words weigh, from 0 (off) to "
        "below 1 (docs/scaling.md: what turning it off saves at a million articles, and costs).",
    ),
    Setting("LOCK_TIMEOUT", 60.0, "Seconds an ingest or reindex waits for another to finish."),
    Setting("KEEP_GENERATIONS", 2, "Index generations kept on disk, the live one included."),
    Setting(
        "INDEX_WORKERS",
        0,
        "Processes that write a new index generation (reindex, a first ingest); 0: one per core.",
    ),
    Setting(
        "ALIASES",
        "",
        "File of name aliases (a line each: the canonical name, =, its other spellings) read "
        "by ingest, crawl and reindex; empty: aliases.txt in the data folder, when there is one.",
    ),
    Setting(
        "CRAWL_CONTACT",
        "",
        "URL or e-mail for site owners, sent in the crawler's User-Agent (set it before crawling).",
    ),
    Setting(
        "CRAWL_DELAY",
        1.0,
        "Least seconds between two requests to one host (robots.txt may ask more).",
    ),
    Setting("CRAWL_CONCURRENCY", 4, "Requests the crawler has in flight at once, over all hosts."),
    Setting("CRAWL_TIMEOUT", 10.0, "Seconds the crawler waits to connect, and for each read."),
    Setting("CRAWL_MAX_BYTES", 5000000, "Largest page the crawler reads (after decompression)."),
    Setting("CRAWL_RETRIES", 3, "Extra tries after a timeout, a 5xx or a 429 (with backoff)."),
]

_BY_NAME = {s.name: s for s in SETTINGS}


def default(name: str) -> Any:
    """Return the built-in default of setting ``name``."""
    return _BY_NAME[name].default


def from_env(name: str) -> Any:
    """Return setting ``name`` from the environment, converted to its default's type."""
    setting = _BY_NAME[name]
    raw = os.environ.get(setting.env)
    if raw is None:
        return setting.default
    kind = type(setting.default)
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(
            f"{setting.env} must be {'an integer' if kind is int else 'a number'}, not {raw!r}"
        ) from None


def cores() -> int:
    """The number of cores this process may use (all of the machine's, off Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
