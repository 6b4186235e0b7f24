"""The Flask front end over search/: create_app() wires the views, errors, metrics and headers."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask

from search import settings
from search.engine.scoring import Ranking
from search.engine.searcher import Searcher
from search.request import Limits
from web import cors, errors, metrics, security, templating, views


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: the built-in defaults, then SEARCH_* variables, then ``test_config``."""
    app = Flask(__name__)
    app.config.from_mapping({s.name: s.default for s in settings.SETTINGS})
    app.config.from_prefixed_env(settings.ENV_PREFIX.rstrip("_"))
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    # The one searcher of this process, reached by the views through views.get_searcher().
    app.extensions["searcher"] = Searcher(
        app.config["INDEX_DIR"],
        Limits.from_settings(app.config.__getitem__),
        Ranking.from_settings(app.config.__getitem__),
    )
    app.register_blueprint(views.bp)
    errors.init_app(app)
    metrics.init_app(app)  # first of the request hooks, so that it times what the others refuse
    security.init_app(app)
    cors.init_app(app)
    templating.init_app(app)
    # A streamed response (an export) takes its turns as its parts are made (views._in_turn).
    # Re-entrant: a part whose generator is collected while its thread holds the turn (as a
    # garbage collection may run it) closes without waiting for itself.
    app.extensions["turn"] = threading.RLock()
    app.wsgi_app = _one_at_a_time(app.wsgi_app, app.extensions["turn"])  # type: ignore[method-assign]
    return app


def _one_at_a_time(wsgi_app, turn):
    """Run one request at a time in this process (the other threads wait their turn).

    A request is Python work under the GIL: threads that run requests side by side only take
    turns at it, and each wait for the GIL after a read from disk costs a switch interval
    (with 4 threads on 2 cores, /api/search answered 161 req/s, a search taking 20 ms instead
    of 5). The threads still read requests and write responses side by side, so a slow
    client holds a thread, not the process.
    """

    def serialized(environ, start_response):
        with turn:
            return wsgi_app(environ, start_response)

    return serialized
