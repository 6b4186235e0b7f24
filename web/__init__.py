"""The Flask front end: the search page, the article page and the JSON API over search/."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, jsonify, render_template, request
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from search import settings
from search.engine.searcher import Searcher
from search.errors import IndexMissing, InvalidRequest
from search.request import Limits, SearchRequest
from web import metrics, security

logger = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: the built-in defaults, then SEARCH_* variables, then ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping({s.name: s.default for s in settings.SETTINGS})
    app.config.from_prefixed_env(settings.ENV_PREFIX.rstrip("_"))
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    limits = Limits(
        per_page=int(app.config["PER_PAGE"]),
        max_per_page=int(app.config["MAX_PER_PAGE"]),
        max_depth=int(app.config["MAX_DEPTH"]),
        max_query_length=int(app.config["MAX_QUERY_LENGTH"]),
        max_expansion=int(app.config["MAX_EXPANSION"]),
    )
    searcher = Searcher(app.config["INDEX_DIR"], limits)
    app.extensions["searcher"] = searcher
    _register_views(app, searcher)
    _register_errors(app)
    metrics.init_app(app)  # first, so that it times what the others refuse too
    security.init_app(app)
    app.jinja_env.filters["day"] = _day
    app.jinja_env.globals["search_url"] = search_url
    app.wsgi_app = _one_at_a_time(app.wsgi_app)  # type: ignore[method-assign]
    return app


def _one_at_a_time(wsgi_app):
    """Run one request at a time in this process (the other threads wait their turn).

    A request is Python work under the GIL: threads that run requests side by side only take
    turns at it, and each wait for the GIL after a read from disk costs a switch interval
    (with 4 threads on 2 cores, /api/search answered 161 req/s, a search taking 20 ms instead
    of 5). The threads still read requests and write responses side by side, so a slow
    client holds a thread, not the process.
    """
    turn = threading.Lock()

    def serialized(environ, start_response):
        with turn:
            return wsgi_app(environ, start_response)

    return serialized


def _params() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


def _register_views(app: Flask, searcher: Searcher) -> None:
    @app.get("/")
    def search_page():
        """The search box, results, facets and pagination (works without JavaScript)."""
        search_request = SearchRequest.from_params(_params(), searcher.limits)
        response = searcher.search(search_request)
        pages = max(1, math.ceil(response.total / search_request.per_page))
        last_page = min(pages, max(1, searcher.limits.max_depth // search_request.per_page))
        months = [{**m.to_dict(), **_month_range(m.value)} for m in response.facets["months"]]
        # Built by the searcher from escaped text; <mark> is their only markup.
        response.results = [
            replace(hit, title_html=Markup(hit.title_html), snippet=Markup(hit.snippet))
            for hit in response.results
        ]
        return render_template(
            "search.html",
            r=response,
            months=months,
            req=search_request.to_params(),
            last_page=last_page,
        )

    @app.get("/article/<article_id>")
    def article_page(article_id: str):
        """One stored article with its fields and a link to the original."""
        article = searcher.article(article_id)
        if article is None:
            abort(404, description=f"There is no article with id {article_id!r}.")
        similar = searcher.similar(article_id) or []
        return render_template("article.html", article=article, similar=similar)

    @app.get("/help")
    def help_page():
        """The query syntax, with examples."""
        return render_template("help.html")

    @app.get("/api/search")
    def api_search():
        """The JSON search endpoint: the same parameters and power as the page."""
        search_request = SearchRequest.from_params(_params(), searcher.limits)
        return jsonify(searcher.search(search_request).to_dict())

    @app.get("/api/article/<article_id>")
    def api_article(article_id: str):
        """One stored article as JSON."""
        article = searcher.article(article_id)
        if article is None:
            abort(404, description=f"There is no article with id {article_id!r}.")
        return jsonify(article.to_dict())

    @app.get("/api/suggest")
    def api_suggest():
        """Autocomplete: people, topics and title words that begin with ``q``."""
        params = _params()
        unknown = sorted(set(params) - {"q", "limit"})
        if unknown:
            raise InvalidRequest(
                f"unknown parameter {unknown[0]!r}; known parameters are: q, limit"
            )
        limit = params.get("limit", ["5"])[-1]
        if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 20:
            raise InvalidRequest(f"limit must be a whole number from 1 to 20, not {limit!r}")
        return jsonify(searcher.complete(params.get("q", [""])[-1], int(limit)))

    @app.get("/api/similar/<article_id>")
    def api_similar(article_id: str):
        """Articles like this one, best first."""
        similar = searcher.similar(article_id)
        if similar is None:
            abort(404, description=f"There is no article with id {article_id!r}.")
        return jsonify({"id": article_id, "results": [s.to_dict() for s in similar]})

    @app.get("/api/health")
    def api_health():
        """Status, the live generation, its document count and age."""
        return jsonify(searcher.health())


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _error(status: int, message: str, title: str):
    if _wants_json():
        return jsonify({"error": {"status": status, "message": message}}), status
    return render_template("error.html", status=status, title=title, message=message), status


def _register_errors(app: Flask) -> None:
    @app.errorhandler(InvalidRequest)
    def invalid_request(error: InvalidRequest):
        if _wants_json():
            return _error(error.status, str(error), "Bad request")
        # The page shows the problem next to the search box, so the reader can fix it.
        params = {k: v[0] for k, v in _params().items() if k == "q" and v}
        return render_template("search.html", r=None, req=params, error=str(error)), error.status

    @app.errorhandler(IndexMissing)
    def index_missing(error: IndexMissing):
        return _error(503, str(error), "No index yet")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _error(error.code or 500, error.description or error.name, error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logger.exception("unexpected error on %s", request.full_path)
        return _error(500, "Something went wrong on our side; it has been logged.", "Error")


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
    ]
    return "/?" + urlencode(query) if query else "/"


def _month_range(value: str) -> dict[str, str]:
    """Label and date range of a "YYYY-MM" facet value."""
    first = date.fromisoformat(value + "-01")
    last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
    return {"label": f"{first:%B %Y}", "from": first.isoformat(), "to": last.isoformat()}


def _day(value: str | datetime | date | None) -> str:
    """Format a date for readers: 14 Mar 2026."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return f"{value.day} {value:%b %Y}"
