"""The views: the search page, the article page, the help page and the JSON API."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta
from typing import NoReturn

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from markupsafe import Markup

from search.engine.searcher import Searcher
from search.errors import IndexMissing, InvalidRequest
from search.request import SearchRequest

bp = Blueprint("views", __name__)


def get_searcher() -> Searcher:
    """The app's searcher, made once by create_app() and shared by every request."""
    return current_app.extensions["searcher"]


def _params() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


def _no_article(article_id: str) -> NoReturn:
    abort(404, description=f"There is no article with id {article_id!r}.")


@bp.get("/")
def search_page():
    """The search box, results, facets and pagination (works without JavaScript)."""
    searcher = get_searcher()
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


@bp.get("/article/<article_id>")
def article_page(article_id: str):
    """One stored article with its fields and a link to the original."""
    searcher = get_searcher()
    article = searcher.article(article_id)
    if article is None:
        _no_article(article_id)
    similar = searcher.similar(article_id) or []
    return render_template("article.html", article=article, similar=similar)


@bp.get("/help")
def help_page():
    """The query syntax, with examples."""
    return render_template("help.html")


@bp.get("/api/search")
def api_search():
    """The JSON search endpoint: the same parameters and power as the page."""
    searcher = get_searcher()
    search_request = SearchRequest.from_params(_params(), searcher.limits)
    return jsonify(searcher.search(search_request).to_dict())


@bp.get("/api/article/<article_id>")
def api_article(article_id: str):
    """One stored article as JSON."""
    article = get_searcher().article(article_id)
    if article is None:
        _no_article(article_id)
    return jsonify(article.to_dict())


@bp.get("/api/suggest")
def api_suggest():
    """Autocomplete: people, topics and title words that begin with ``q``."""
    params = _params()
    unknown = sorted(set(params) - {"q", "limit"})
    if unknown:
        raise InvalidRequest(f"unknown parameter {unknown[0]!r}; known parameters are: q, limit")
    limit = params.get("limit", ["5"])[-1]
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 20:
        raise InvalidRequest(f"limit must be a whole number from 1 to 20, not {limit!r}")
    return jsonify(get_searcher().complete(params.get("q", [""])[-1], int(limit)))


@bp.get("/api/similar/<article_id>")
def api_similar(article_id: str):
    """Articles like this one, best first."""
    similar = get_searcher().similar(article_id)
    if similar is None:
        _no_article(article_id)
    return jsonify({"id": article_id, "results": [s.to_dict() for s in similar]})


@bp.get("/api/health")
def api_health():
    """Status, the live generation, its document count and age; a 503 with the reason when
    there is no index to serve."""
    try:
        return jsonify(get_searcher().health())
    except IndexMissing as error:
        return jsonify({"status": "unavailable", "reason": str(error)}), 503


def _month_range(value: str) -> dict[str, str]:
    """Label and date range of a "YYYY-MM" facet value."""
    first = date.fromisoformat(value + "-01")
    last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
    return {"label": f"{first:%B %Y}", "from": first.isoformat(), "to": last.isoformat()}
