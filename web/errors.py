"""Errors as responses: JSON under /api/, an error page elsewhere, each with a message to act on."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search.errors import IndexMissing, InvalidRequest

logger = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, title: str):
    """``{"error": {"status", "message"}}`` for the API, the error page (headed ``title``) else."""
    if _wants_json():
        return jsonify({"error": {"status": status, "message": message}}), status
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    """Answer every error the views raise, and any they did not expect, in that shape."""

    @app.errorhandler(InvalidRequest)
    def invalid_request(error: InvalidRequest):
        if _wants_json():
            return error_response(error.status, str(error), "Bad request")
        # The page shows the problem next to the search box, so the reader can fix it.
        params = {"q": request.args["q"]} if "q" in request.args else {}
        return render_template("search.html", r=None, req=params, error=str(error)), error.status

    @app.errorhandler(IndexMissing)
    def index_missing(error: IndexMissing):
        return error_response(503, str(error), "No index yet")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return error_response(error.code or 500, error.description or error.name, error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        logger.exception("unexpected error on %s", request.full_path)
        return error_response(500, "Something went wrong on our side; it has been logged.", "Error")
