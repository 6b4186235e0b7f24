"""The views: the search page, the article page, the help page and the JSON API."""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator
from dataclasses import replace
from datetime import datetime
from typing import Any, NoReturn
from urllib.parse import parse_qs, unquote_to_bytes, urlencode, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
)
from markupsafe import Markup
from werkzeug.http import is_resource_modified

from search import export
from search.article import public_url
from search.cursor import Cursor
from search.engine.searcher import Searcher
from search.errors import NOT_UTF8, IndexMissing, InvalidRequest
from search.request import SearchRequest, refuse_unknown
from web import timeline
from web.templating import FEED_PARAMS, feed_url, search_url

bp = Blueprint("views", __name__)

# The newest matches a feed lists.
FEED_ENTRIES = 20


def get_searcher() -> Searcher:
    """The app's searcher, made once by create_app() and shared by every request."""
    return current_app.extensions["searcher"]


def _params() -> dict[str, list[str]]:
    return request.args.to_dict(flat=False)


def _no_article(article_id: str) -> NoReturn:
    abort(404, description=f"There is no article with id {article_id!r}.")


@bp.before_request
def refuse_parameters_that_are_not_text() -> None:
    """A 400 for parameters whose bytes are not UTF-8 text, whatever the endpoint.

    Werkzeug leaves such bytes percent-encoded ("%FF"): searched for, they would be echoed
    back as if the reader had typed them.
    """
    for pair in request.query_string.split(b"&"):
        name, _, value = (
            unquote_to_bytes(part) for part in pair.replace(b"+", b" ").partition(b"=")
        )
        try:
            param = name.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest(
                "a parameter's name is not text: its bytes are not UTF-8", code=NOT_UTF8
            ) from None
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest(
                f"{param!r} is not text: its bytes are not UTF-8", param, NOT_UTF8
            ) from None


@bp.get("/")
def search_page():
    """The search box, results, facets and pagination (works without JavaScript)."""
    searcher = get_searcher()
    search_request = SearchRequest.from_params(_params(), searcher.limits)
    response = searcher.search(search_request)
    last_page = max(1, response.pages)
    # A page past the last one (an old link, a shortened search): the request is well formed,
    # so a 200 as the JSON API answers it, saying so and linking back to the last page.
    past_end = search_request.page > last_page
    # Built by the searcher from escaped text; <mark> is their only markup.
    response.results = [
        replace(hit, title_html=Markup(hit.title_html), snippet=Markup(hit.snippet))
        for hit in response.results
    ]
    req = search_request.to_params()
    return render_template(
        "search.html",
        r=response,
        timeline=timeline.chart(response.timeline, req) if response.results else None,
        req=req,
        last_page=last_page,
        past_end=past_end,
    )


@bp.get("/article/<article_id>")
def article_page(article_id: str):
    """One stored article with its fields and a link to the original."""
    searcher = get_searcher()
    article = searcher.article(article_id)
    if article is None:
        _no_article(article_id)
    versions = searcher.versions(article_id) or []
    shown = {v.id for v in versions}
    similar = [s for s in searcher.similar(article_id) or [] if s.id not in shown]
    back, req = _search_to_go_back_to(request.args.get("back", ""))
    return render_template(
        "article.html",
        article=article,
        original=public_url(article.url),
        versions=versions,
        similar=similar,
        back=back,
        req=req,
    )


def _search_to_go_back_to(back: str) -> tuple[str, dict[str, Any]]:
    """The search page a reader came from (``back``, as result links pass it) and its
    parameters; the plain search page when ``back`` is not a well-formed search of this site.

    The link is rebuilt from the parsed request, never echoed: no other site, scheme or path
    can come out of it.
    """
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or parts.path != "/" or parts.fragment:
        return "/", {}
    try:
        # errors="strict": a value that is not UTF-8 is refused (UnicodeDecodeError, a
        # ValueError), as the search itself refuses it, not turned into U+FFFD.
        params = parse_qs(
            parts.query,
            keep_blank_values=True,
            strict_parsing=bool(parts.query),
            errors="strict",
        )
        wanted = SearchRequest.from_params(params, get_searcher().limits).to_params()
    except (InvalidRequest, ValueError):
        return "/", {}
    return search_url(wanted, page=wanted["page"]), wanted


@bp.get("/favicon.ico")
def favicon():
    """The site's icon where browsers look for it (the pages name the same SVG)."""
    static = current_app.static_folder or ""
    return send_from_directory(static, "favicon.svg", mimetype="image/svg+xml", max_age=86400)


@bp.get("/help")
def help_page():
    """The query syntax, with examples."""
    return render_template("help.html")


@bp.get("/api/search")
def api_search():
    """The JSON search endpoint: the same parameters and power as the page; ``cursor`` (a
    response's ``next_cursor``) pages on past the depth limit."""
    searcher = get_searcher()
    params = _params()
    tokens = params.pop("cursor", [])
    if len(tokens) > 1:
        raise InvalidRequest("parameter 'cursor' may be given only once", "cursor")
    if tokens and "page" in params:
        raise InvalidRequest(
            "give either cursor or page, not both: a cursor says where the results go on",
            "cursor",
        )
    cursor = Cursor.decode(tokens[0]) if tokens else None
    search_request = SearchRequest.from_params(params, searcher.limits)
    body = searcher.search(search_request, cursor).to_dict(_api_search_url)
    if cursor is not None:  # (pages by number do not reach here; the next cursor does)
        body["request"]["cursor"] = tokens[0]
        body["page"] = body["request"]["page"] = None
        body["previous"] = None
        body["next"] = _api_search_url(None, body["next_cursor"]) if body["next_cursor"] else None
    return jsonify(body)


def _api_search_url(page: int | None, cursor: str | None = None) -> str:
    """This request's URL, relative to the site, with its parameters but for ``page`` (or,
    instead of a page, ``cursor``)."""
    params = request.args.copy()
    params.pop("cursor", None)
    if cursor:
        params.pop("page", None)
        params["cursor"] = cursor
    else:
        params["page"] = str(page)
    return "/api/search?" + urlencode(list(params.items(multi=True)))


@bp.get("/api/export")
def api_export():
    """Every match of a search as CSV or JSON Lines, streamed in the order of its pages; a bad
    request is refused (400, JSON) before the first row."""
    searcher = get_searcher()
    search_request, form, snippets = export.parse_params(_params(), searcher.limits)
    found = searcher.export(search_request, snippets)
    body = _in_turn(export.encode(found.batches(), form, snippets), current_app.extensions["turn"])
    name = export.filename(search_request, form)
    headers = {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Total-Count": str(found.total),
    }
    return current_app.response_class(
        body, content_type=export.CONTENT_TYPES[form], headers=headers
    )


def _in_turn(parts: Generator[bytes, None, None], turn) -> Iterator[bytes]:
    """``parts`` made each in its turn with the process's other requests (see
    web._one_at_a_time), and sent between turns, so that a long export does not stop them."""
    try:
        while True:
            with turn:
                part = next(parts, None)
            if part is None:
                return
            yield part
    finally:
        with turn:
            parts.close()  # (the export's searcher with it)


@bp.get("/api/article/<article_id>")
def api_article(article_id: str):
    """One stored article as JSON, with the other versions of its story."""
    searcher = get_searcher()
    article = searcher.article(article_id)
    if article is None:
        _no_article(article_id)
    versions = [v.to_dict() for v in searcher.versions(article_id) or []]
    # The stored url of an ingested file is a path on the server: published only when public.
    return jsonify({**article.to_dict(), "url": public_url(article.url), "versions": versions})


@bp.get("/api/suggest")
def api_suggest():
    """Autocomplete: people, topics and title words that begin with ``q``; with
    ``format=opensearch``, as the browsers' search suggestions ask for them."""
    params = _params()
    refuse_unknown(params, ("q", "limit", "format"))
    limit = params.get("limit", ["5"])[-1]
    if not limit.isascii() or not limit.isdigit() or not 1 <= int(limit) <= 20:
        raise InvalidRequest(f"limit must be a whole number from 1 to 20, not {limit!r}", "limit")
    form = params.get("format", ["json"])[-1]
    if form not in ("json", "opensearch"):
        raise InvalidRequest(f"format must be json or opensearch, not {form!r}", "format")
    found = get_searcher().complete(params.get("q", [""])[-1], int(limit))
    if form == "json":
        return jsonify(found)
    # OpenSearch suggestions: [the query, [completions]], people and topics first.
    completions: dict[str, str] = {}  # (one of each, whatever its case: "Energy", "energy")
    for item in (item for kind in ("people", "topics", "words") for item in found[kind]):
        completions.setdefault(item["value"].casefold(), item["value"])
    response = jsonify([found["q"], list(completions.values())[: int(limit)]])
    response.mimetype = "application/x-suggestions+json"
    return response


@bp.get("/feed")
def feed():
    """The newest matches of a search as an Atom 1.0 feed, for a feed reader to poll: the same
    query and filters as the page; answered 304 when nothing changed (ETag, Last-Modified)."""
    params = _params()
    refuse_unknown(params, FEED_PARAMS)
    searcher = get_searcher()
    entries = str(min(FEED_ENTRIES, searcher.limits.max_per_page))
    wanted = params | {"sort": ["newest"], "per_page": [entries]}
    search_request = SearchRequest.from_params(wanted, searcher.limits)
    modified = datetime.fromisoformat(searcher.health()["modified"])
    req = search_request.to_params()
    self_url = request.url_root.rstrip("/") + feed_url(req)
    # One search of one version of the index is one feed: its tag is known before searching,
    # so that a poll of an unchanged feed costs no search.
    tag = hashlib.sha256(f"{searcher.version()} {self_url}".encode()).hexdigest()[:32]
    answer = current_app.response_class(mimetype="application/atom+xml")
    answer.set_etag(tag)
    answer.last_modified = modified
    answer.cache_control.no_cache = True  # (a reader asks again each time; a 304 is cheap)
    if not is_resource_modified(request.environ, tag, last_modified=modified):
        answer.status_code = 304
        return answer
    answer.set_data(
        render_template(
            "feed.xml",
            r=searcher.search(search_request),
            req=req,
            updated=modified.isoformat(),
            self_url=self_url,
            page_url=request.url_root.rstrip("/")
            + search_url(req | {"per_page": searcher.limits.per_page}, sort="relevance"),
        )
    )
    return answer


@bp.get("/opensearch.xml")
def opensearch():
    """The OpenSearch 1.1 description that lets a browser add the site as a search engine."""
    text = render_template("opensearch.xml", root=request.url_root)
    return current_app.response_class(text, mimetype="application/opensearchdescription+xml")


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
        return jsonify({"status": "unavailable", "reason": error.public}), 503
