"""Security headers on every response, and the bound on request bodies."""

from __future__ import annotations

from flask import Flask, Response, request
from werkzeug.exceptions import RequestEntityTooLarge

# The pages load only their own stylesheet and script files: nothing inline may run, no
# other origin may be framed, framing us, or posted to.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        # The search box's autocomplete (static/suggest.js) asks /api/suggest.
        "connect-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Queries are in our URLs: never hand them to the sites the results link to.
    "Referrer-Policy": "no-referrer",
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    """Refuse oversized request bodies and add the security headers to every response."""

    @app.before_request
    def refuse_large_bodies() -> None:
        # Flask enforces MAX_CONTENT_LENGTH only when a view reads the body, and none does:
        # refuse a declared oversized body before any work is done for it.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit is not None and (request.content_length or 0) > int(limit):
            raise RequestEntityTooLarge(
                f"The request body is {request.content_length} bytes; the limit is {limit}. "
                "Search parameters go in the query string of a GET request."
            )

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response
