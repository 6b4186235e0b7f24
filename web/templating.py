"""What the templates call beyond Jinja's own: search_url() for links, filters for dates,
durations and an article's paragraphs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from flask import Flask

from search import export, settings
from search.article import body_blocks


def init_app(app: Flask) -> None:
    """Make ``search_url`` and the filters available to every template."""
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["duration"] = duration
    app.jinja_env.filters["blocks"] = body_blocks
    app.jinja_env.filters["listing"] = listing
    app.jinja_env.globals["search_url"] = search_url
    app.jinja_env.globals["feed_url"] = feed_url
    app.jinja_env.globals["export_url"] = export_url


# What a feed of a search takes: the query and its filters (it is always the newest first).
FEED_PARAMS = ("q", "topic", "person", "source", "from", "to", "collapse", "story")


def feed_url(req: dict[str, Any]) -> str:
    """The Atom feed of the search ``req`` (its query and filters)."""
    query = []
    for name in FEED_PARAMS:
        values = req.get(name)
        for value in values if isinstance(values, list) else [values]:
            if name == "collapse":
                value = None if value else 0  # (collapsed unless asked otherwise)
            if value not in (None, ""):
                query.append((name, value))
    return "/feed" + ("?" + urlencode(query) if query else "")


def export_url(req: dict[str, Any], form: str) -> str:
    """Every match of the search ``req`` (its query, filters and order) as ``form``."""
    query = []
    for name in export.SEARCH_PARAMS:
        values = req.get(name)
        for value in values if isinstance(values, list) else [values]:
            if name == "collapse":
                value = None if value else 0  # (collapsed unless asked otherwise)
            elif name in ("sort", "recency") and value in ("relevance", 0, 0.0):
                value = None  # (the defaults)
            if value not in (None, ""):
                query.append((name, value))
    return "/api/export?" + urlencode(query + [("format", form)])


def search_url(req: dict[str, Any], **changes: Any) -> str:
    """The page URL for request ``req`` with ``changes``: add_topic, remove_person, page, ...

    Any change other than the page goes back to page 1.
    """
    params = {k: (list(v) if isinstance(v, list) else v) for k, v in req.items()}
    if "page" not in changes:
        params["page"] = 1
    for key, value in changes.items():
        action, _, name = key.partition("_")
        if value is True:
            value = 1  # a flag reads "explain=1" in the address
        if action == "add" and value not in params[name]:
            params[name].append(value)
        elif action == "remove":
            params[name] = [v for v in params[name] if v != value]
        else:
            params[key] = value
    query = [
        (k, v)
        for k, values in params.items()
        for v in (values if isinstance(values, list) else [values])
        if v not in (None, "")
        and not (k == "page" and v == 1)
        and not (k == "sort" and v == "relevance")
        and not (k == "per_page" and v == settings.default("PER_PAGE"))
        and not (k in ("recency", "explain") and not v)
        and not (k == "collapse" and v is True)  # (the default)
    ]
    query = [(k, int(v) if isinstance(v, bool) else v) for k, v in query]
    return "/?" + urlencode(query) if query else "/"


def day(value: str | datetime | date | None) -> str:
    """Format a date for readers: 14 Mar 2026."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.day} {value:%b %Y}"


def duration(milliseconds: float) -> str:
    """How long a search took, for readers: 0.4 ms, 12 ms, 1.3 s."""
    if milliseconds < 10:
        return f"{milliseconds:.1f} ms"
    if milliseconds < 1000:
        return f"{milliseconds:.0f} ms"
    return f"{milliseconds / 1000:.1f} s"


def listing(value: Any) -> str:
    """An article's extra value (places, authors: a list as a source gives it, or any JSON
    value a JSON Lines file gave) as one line of text."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value if v not in (None, ""))
    return "" if value is None else str(value)
