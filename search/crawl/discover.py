"""Finding more pages: links, feeds and canonical links in pages; sitemaps; RSS and Atom feeds."""

from __future__ import annotations

import gzip
import io
import logging
from dataclasses import dataclass, field

import feedparser
from lxml import etree
from lxml import html as lxml_html

from search.crawl.urls import BadURL, canonical_url

logger = logging.getLogger(__name__)

FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json"}
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
)
_HTML_PARSER = lxml_html.HTMLParser(encoding="utf-8")


@dataclass
class Found:
    """URLs found in one document: pages to read, sitemaps and feeds to expand."""

    pages: list[str] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)
    feeds: list[str] = field(default_factory=list)
    canonical: str = ""


def _absolute(href: str | None, base: str) -> str | None:
    if not href:
        return None
    try:
        return canonical_url(href, base=base)
    except BadURL:
        return None


def links_in_page(html: str, url: str) -> Found:
    """Return the links, linked feeds and the canonical link of an HTML page."""
    found = Found()
    try:
        # Parsed as UTF-8 bytes: lxml refuses a str that keeps its <?xml encoding=...?> line.
        tree = lxml_html.fromstring(html.encode("utf-8", "replace"), parser=_HTML_PARSER)
    except (etree.ParserError, ValueError):
        return found
    base = next(iter(tree.xpath("//base/@href")), None)
    base = _absolute(base, url) or url
    for link in tree.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().strip()
        target = _absolute(link.get("href"), base)
        if not target:
            continue
        if "canonical" in rel and not found.canonical:
            found.canonical = target
        elif "alternate" in rel and kind in FEED_TYPES:
            found.feeds.append(target)
    for anchor in tree.xpath("//a[@href]"):
        rel = (anchor.get("rel") or "").lower().split()
        if "nofollow" in rel:
            continue
        target = _absolute(anchor.get("href"), base)
        if target:
            found.pages.append(target)
    found.pages = list(dict.fromkeys(found.pages))
    found.feeds = list(dict.fromkeys(found.feeds))
    return found


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """Return ``body`` decompressed when it is gzip data (a ``.xml.gz`` sitemap), else as is.

    Raises:
        ValueError: it expands past ``max_bytes`` or is not valid gzip.
    """
    if not body.startswith(b"\x1f\x8b"):
        return body
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as handle:
            data = handle.read(max_bytes + 1)
    except (OSError, EOFError) as error:
        raise ValueError(f"broken gzip data: {error}") from None
    if len(data) > max_bytes:
        raise ValueError(f"too large: expands past {max_bytes} bytes")
    return data


def urls_in_sitemap(body: bytes, url: str, max_bytes: int) -> Found:
    """Return the pages of a sitemap (plain, news or gzipped) or the sitemaps of an index.

    Raises:
        ValueError: not a sitemap, or one that expands past ``max_bytes``.
    """
    data = gunzip(body, max_bytes)
    try:
        root = etree.fromstring(data, _XML_PARSER)
    except etree.XMLSyntaxError as error:
        raise ValueError(f"not XML: {error}") from None
    if root is None:
        raise ValueError("not XML")
    found = Found()
    tag = etree.QName(root).localname
    if tag not in ("urlset", "sitemapindex"):
        raise ValueError(f"not a sitemap (root element <{tag}>)")
    # Sitemaps are meant to use their namespace, but some omit it: match on local names.
    for loc in root.iter("{*}loc", "loc"):
        parent = etree.QName(loc.getparent()).localname if loc.getparent() is not None else ""
        target = _absolute(loc.text, url)
        if not target:
            continue
        if tag == "sitemapindex" and parent == "sitemap":
            found.sitemaps.append(target)
        elif tag == "urlset" and parent == "url":
            found.pages.append(target)
    return found


def urls_in_feed(body: bytes, url: str) -> Found:
    """Return the article links of an RSS or Atom feed.

    Raises:
        ValueError: the document is not a feed.
    """
    parsed = feedparser.parse(body, response_headers={"content-location": url})
    if not parsed.entries and not parsed.feed:
        problem = parsed.get("bozo_exception")
        raise ValueError(f"not a feed: {problem}" if problem else "not a feed")
    found = Found()
    for entry in parsed.entries:
        target = _absolute(entry.get("link"), url)
        if target:
            found.pages.append(target)
    return found


def looks_like_feed(body: bytes) -> bool:
    """Say whether an XML body is an RSS or Atom feed rather than a sitemap or a page."""
    head = body[:2048].lstrip().lower()
    return b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head
