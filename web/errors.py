"""Errors as responses: JSON under /api/, an error page elsewhere, each with a message to act on."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search.errors import (
    BAD_PARAMETER,
    BAD_QUERY,
    INDEX_CHANGED,
    NOT_UTF8,
    UNKNOWN_PARAMETER,
    IndexMissing,
    InvalidRequest,
)

logger = logging.getLogger(__name__)

# Every "code" a JSON error may carry, with its status and meaning (the README lists them all).
CODES = {
    BAD_PARAMETER: (400, "a parameter's value is malformed or out of bounds"),
    UNKNOWN_PARAMETER: (400, "the endpoint takes no parameter of that name"),
    BAD_QUERY: (400, "the query (q) cannot be read or run"),
    NOT_UTF8: (400, "a parameter's bytes are not text (UTF-8)"),
    "not_found": (404, "no such article or endpoint"),
    "method_not_allowed": (405, "the API answers GET, HEAD and OPTIONS only"),
    INDEX_CHANGED: (409, "the index changed since the cursor was made: start from the first page"),
    "too_large": (413, "the request has a body (the service reads none)"),
    "internal": (500, "something failed on the server; it has been logged"),
    "index_unavailable": (503, "the service has no index to search yet"),
    "http_error": (None, "any other HTTP error: the status says which"),
}
# The code of an error known only by its status (a 400 always comes with its own code).
_BY_STATUS = {status: code for code, (status, _) in CODES.items() if status not in (None, 400)}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int, message: str, title: str, code: str | None = None, param: str | None = None
):
    """``{"error": {"status", "code", "message", "param"}}`` for the API, else the error page
    (headed ``title``). ``code`` defaults to the one of the status."""
    if _wants_json():
        error = {
            "status": status,
            "code": code or _BY_STATUS.get(status, "http_error"),
            "message": message,
            "param": param,
        }
        return jsonify({"error": error}), status
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Answer every error the views raise, and any they did not expect, in that shape."""

    @app.errorhandler(InvalidRequest)
    def invalid_request(error: InvalidRequest):
        if _wants_json():
            return error_response(error.status, str(error), "Bad request", error.code, error.param)
        # The page shows the problem next to the search box, so the reader can fix it (a query
        # that is not text is not put back in the box).
        echo = error.code != NOT_UTF8 and "q" in request.args
        params = {"q": request.args["q"]} if echo else {}
        return render_template("search.html", r=None, req=params, error=str(error)), error.status

    @app.errorhandler(IndexMissing)
    def index_missing(error: IndexMissing):
        # error.public: str(error) names the data folder, a path on the server.
        return error_response(503, error.public, "No index yet")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_response(error.code or 500, error.description or error.name, error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logger.exception("unexpected error on %s", request.full_path)
        return error_response(500, "Something went wrong on our side; it has been logged.", "Error")
