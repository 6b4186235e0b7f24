"""A news site served by a real HTTP server on 127.0.0.1, for the crawler's tests and benchmark."""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Route = Callable[["Handler"], None]


@dataclass
class Hit:
    """One request the server answered, as its log shows it."""

    at: float  # time.monotonic() on arrival
    path: str
    status: int
    headers: dict[str, str]


def article_html(slug: str, title: str, words: str, extra_head: str = "") -> str:
    """A news article page with a headline, a dateline and three paragraphs about ``words``."""
    paragraphs = "".join(
        f"<p>{title} paragraph {n}: the report about {words} went on for many sentences, "
        f"with details on {words} that readers of the {slug} story would expect to find.</p>"
        for n in range(1, 4)
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title} | Fixture"
        f" News</title>{extra_head}<meta property='og:site_name' content='Fixture News'>"
        f"</head><body><header><a href='/'>Home</a></header><article><h1>{title}</h1>"
        f"<time datetime='2026-03-0{len(slug) % 9 + 1}T10:00:00Z'>March</time>{paragraphs}"
        "</article></body></html>"
    )


def links_page(title: str, hrefs: list[str], extra_head: str = "") -> str:
    """A section page: nothing but a heading and a list of links."""
    items = "".join(f"<li><a href='{h}'>{i}</a></li>" for i, h in enumerate(hrefs))
    return (
        f"<!doctype html><html><head><title>{title}</title>{extra_head}</head>"
        f"<body><h1>{title}</h1><ul>{items}</ul></body></html>"
    )


class Handler(BaseHTTPRequestHandler):
    """Answers from the site's routes; every answer goes into the site's log."""

    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: without this, Nagle and delayed ACKs add 40 ms.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
        self._status = 0
        arrived = time.monotonic()
        route = self.server.site.routes.get(self.path) or self.server.site.routes.get(
            self.path.split("?")[0]
        )
        try:
            if route is None:
                self.reply(404, b"not found", "text/plain")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler hung up on purpose (size limit, timeout)
        finally:
            with self.server.site.lock:
                self.server.site.log.append(
                    Hit(arrived, self.path, self._status, dict(self.headers.items()))
                )

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def reply(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/html; charset=utf-8",
        headers: dict[str, str] | None = None,
        etag: bool = True,
    ) -> None:
        """Send a whole response; 304 when the client holds this body already (by ETag)."""
        tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if etag and status == 200 and self.headers.get("If-None-Match") == tag:
            self.send_response(304)
            self.send_header("ETag", tag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if etag and status == 200:
            self.send_header("ETag", tag)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        """Quiet: the site keeps its own log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site

    def handle_error(self, request, client_address) -> None:
        """Quiet about clients that hang up (the crawler does, on purpose); loud otherwise."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass
class Site:
    """Routes by path, a log of every request, and the server that answers them."""

    routes: dict[str, Route] = field(default_factory=dict)
    log: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Site:
        """Serve on a free port of 127.0.0.1 in a background thread."""
        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.site = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        """The site's root URL, without the trailing slash."""
        return f"http://127.0.0.1:{self.server.server_port}"

    def page(self, path: str, html: str, content_type: str = "text/html; charset=utf-8") -> None:
        """Serve ``html`` (or bytes) at ``path``."""
        body = html.encode("utf-8") if isinstance(html, str) else html
        self.routes[path] = lambda h: h.reply(200, body, content_type)

    def hits(self, path: str | None = None) -> list[Hit]:
        """The logged requests (for ``path`` only, when given)."""
        with self.lock:
            return [h for h in self.log if path is None or h.path == path]
