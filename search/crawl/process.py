"""What the crawler does with a fetched body, in a worker process: clean it and find more URLs."""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import signal
import threading
from dataclasses import dataclass, field

from search.article import Article, NoText, id_from_url
from search.clean.html import clean_html, decode_html
from search.crawl.discover import (
    Found,
    links_in_page,
    looks_like_feed,
    urls_in_feed,
    urls_in_sitemap,
)
from search.crawl.urls import Scope

HTML_TYPES = {"text/html", "application/xhtml+xml"}
XML_TYPES = {
    "application/xml",
    "text/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/gzip",
    "application/x-gzip",
}


@dataclass
class Processed:
    """The outcome of one body: an article or why there is none, and the URLs it names."""

    url: str
    found: Found = field(default_factory=Found)
    article: Article | None = None
    body_hash: str = ""
    skipped: str = ""  # no article, nothing wrong (a section page, a feed, a sitemap)
    error: str = ""  # no article, something wrong


def init_worker() -> None:
    """Set up a worker process: Ctrl-C and reporting are the parent's; it dies with the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("trafilatura", "htmldate", "courlan", "justext"):
        logging.getLogger(name).setLevel(logging.ERROR)
    parent = multiprocessing.parent_process()
    if parent is not None:
        # A crawl killed outright (SIGKILL, the OOM killer) must not leave its workers behind.
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent) -> None:
    parent.join()
    os._exit(0)


def is_xml(content_type: str, body: bytes) -> bool:
    """Say whether a body is XML (a sitemap or a feed) rather than an HTML page."""
    if content_type in XML_TYPES or body.startswith(b"\x1f\x8b"):
        return True
    return content_type not in HTML_TYPES and body.lstrip()[:5] == b"<?xml"


def process_body(
    url: str,
    final_url: str,
    body: bytes,
    content_type: str,
    charset: str | None,
    max_bytes: int,
    scope: Scope | None = None,
) -> Processed:
    """Clean an HTML body into an article (and its links), or expand a sitemap or a feed.

    The article's id comes from the page's canonical link when it names a page in ``scope``,
    else from the URL fetched.
    """
    result = Processed(url)
    try:
        if is_xml(content_type, body):
            if looks_like_feed(body):
                result.found = urls_in_feed(body, final_url)
                result.skipped = "feed"
            else:
                result.found = urls_in_sitemap(body, final_url, max_bytes)
                result.skipped = "sitemap"
            return result
        html = decode_html(body, charset)
        result.found = links_in_page(html, final_url)
        article = clean_html(html, final_url)
    except NoText as error:
        result.skipped = str(error)
        return result
    except (ValueError, TypeError, LookupError) as error:
        result.error = f"cannot clean: {error or type(error).__name__}"
        return result
    canonical = result.found.canonical
    if canonical and scope is not None and canonical not in scope:
        canonical = ""
    article.url = canonical or final_url
    article.id = id_from_url(article.url)
    result.article = article
    result.body_hash = hashlib.sha256(article.body.encode("utf-8")).hexdigest()
    return result
