"""Cross-origin calls to the JSON API, from the sites the CORS_ORIGINS setting names (none by
default): the header that lets their pages read our answers, and the answer to a preflight."""

from __future__ import annotations

import re

from flask import Flask, Response, request

# An origin is a scheme, a host and maybe a port: no path, not even "/".
_ORIGIN = re.compile(r"https?://[^/\s?#]+", re.IGNORECASE)
# How long a browser may keep a preflight's answer, in seconds.
PREFLIGHT_MAX_AGE = 600


def allowed_origins(value: str | list[str]) -> set[str]:
    """The origins a CORS_ORIGINS value names ("*" for any), each as a browser sends it.

    Raises:
        ValueError: an entry is not an origin.
    """
    entries = value if isinstance(value, list) else re.split(r"[\s,]+", str(value))
    origins = set()
    for entry in filter(None, (e.strip() for e in entries)):
        if entry != "*" and not _ORIGIN.fullmatch(entry):
            raise ValueError(
                f"CORS_ORIGINS: {entry!r} is not an origin (scheme://host[:port], no path)"
            )
        # Browsers send the scheme and host in lower case.
        origins.add(entry if entry == "*" else entry.lower())
    return origins


def init_app(app: Flask) -> None:
    """Let the configured origins call /api/*; with none configured, add no header at all."""
    origins = allowed_origins(app.config.get("CORS_ORIGINS") or "")
    if not origins:
        return

    @app.after_request
    def allow_cross_origin(response: Response) -> Response:
        if not request.path.startswith("/api/"):
            return response
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin is None or ("*" not in origins and origin.lower() not in origins):
            return response
        # No credentials are ever allowed, so "*" is answered with "*".
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            requested = request.headers.get("Access-Control-Request-Headers")
            if requested:
                # Every endpoint reads only its query string: no header can change what it does.
                response.headers["Access-Control-Allow-Headers"] = requested
            response.headers["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response
