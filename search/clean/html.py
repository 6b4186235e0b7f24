"""HTML news page -> Article: main text by trafilatura, metadata from the page's own markup."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

from bs4 import UnicodeDammit
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from search.article import Article, NoText, id_from_url, normalize_line, parse_datetime
from search.clean.body import main_text
from search.clean.headline import choose_headline, site_names
from search.clean.names import people_in_text

logger = logging.getLogger(__name__)

_ARTICLE_TYPES = {
    "Article",
    "NewsArticle",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "BlogPosting",
    "OpinionNewsArticle",
    "Report",
    "WebPage",
}
_DATE_METAS = [
    ("property", "article:published_time"),
    ("name", "article:published_time"),
    ("property", "og:article:published_time"),
    ("itemprop", "datePublished"),
    ("name", "pubdate"),
    ("name", "publishdate"),
    ("name", "date"),
    ("name", "dc.date.issued"),
    ("name", "dcterms.created"),
    ("name", "parsely-pub-date"),
    ("name", "sailthru.date"),
]
_KEYWORD_METAS = [
    ("property", "article:tag"),
    ("name", "news_keywords"),
    ("name", "keywords"),
]
# CMS codes and ids that pages put among their tags: "tag:abc123", "cms-00412", "a1b2c3d4...".
_CMS_CODE = re.compile(r"[:/=_#]|\d{3,}|^[0-9a-f]{8,}$|^[a-z0-9]+(?:-[a-z0-9]+)*-\d+$", re.I)
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)


def decode_html(raw: bytes, declared: str | None = None) -> str:
    """Decode page bytes by the declared charset, the page's own <meta>, or by sniffing."""
    dammit = UnicodeDammit(raw, [declared] if declared else [], is_html=True)
    if dammit.unicode_markup is None:
        return raw.decode("utf-8", errors="replace")
    return dammit.unicode_markup


def _json_ld(tree: HtmlElement) -> list[dict[str, Any]]:
    """Return the JSON-LD objects of the page, with @graph lists flattened."""
    objects: list[dict[str, Any]] = []
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                objects.append(item)
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])
    return objects


def _types(obj: dict[str, Any]) -> set[str]:
    kind = obj.get("@type", [])
    return set(kind if isinstance(kind, list) else [kind])


class _Metas:
    """The page's <meta> values by attribute and name (names compared without case)."""

    def __init__(self, tree: HtmlElement):
        self.values: dict[tuple[str, str], list[str]] = {}
        for tag in tree.iter("meta"):
            content = tag.get("content")
            if not content:
                continue
            for attr in ("property", "name", "itemprop"):
                name = tag.get(attr)
                if name:
                    self.values.setdefault((attr, name.strip().casefold()), []).append(content)

    def __call__(self, pairs: list[tuple[str, str]]) -> list[str]:
        return [v for attr, name in pairs for v in self.values.get((attr, name.casefold()), [])]


def _names(value: Any) -> list[str]:
    """Return the names in a JSON-LD value: a string, an object with a name, or a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _valid_date(value: Any) -> datetime | None:
    """Parse a date, refusing placeholders (year 1, the epoch) and dates in the future."""
    try:
        date = parse_datetime(value)
    except ValueError:
        return None
    if date < _EARLIEST or date > datetime.now(UTC) + timedelta(days=2):
        return None
    if date.year == 1970 and date.month == 1 and date.day == 1:
        return None
    return date


def _site_names(metas: _Metas, article_ld: dict[str, Any]) -> list[str]:
    """The names the page gives its site: og:site_name, application-name, the publisher."""
    names = metas([("property", "og:site_name"), ("name", "application-name")])
    return [normalize_line(n) for n in names + _names(article_ld.get("publisher")) if n.strip()]


def _text(element: HtmlElement) -> str:
    return normalize_line(" ".join(element.itertext()))


def _title(tree: HtmlElement, metas: _Metas, article_ld: dict[str, Any], sites: set[str]) -> str:
    """The headline (see :func:`choose_headline`) from the page's <h1>s, og:title, JSON-LD
    headline and <title>."""
    headings = [_text(h) for h in tree.iter("h1")]
    og = next(iter(metas([("property", "og:title"), ("name", "twitter:title")])), "")
    headline = article_ld.get("headline")
    titles = tree.xpath("//head/title") or tree.xpath("//title")
    return choose_headline(
        headings,
        normalize_line(og),
        normalize_line(headline) if isinstance(headline, str) else "",
        _text(titles[0]) if titles else "",
        sites,
    )


def _published(tree: HtmlElement, metas: _Metas, article_ld: dict[str, Any]) -> datetime | None:
    candidates = [article_ld.get("datePublished"), article_ld.get("dateCreated")]
    candidates += metas(_DATE_METAS)
    candidates += [t.get("datetime") for t in tree.iter("time")]
    for candidate in candidates:
        if candidate and (date := _valid_date(candidate)):
            return date
    return None


def _topics(metas: _Metas, article_ld: dict[str, Any]) -> list[str]:
    raw: list[str] = []
    keywords = article_ld.get("keywords")
    raw += keywords if isinstance(keywords, list) else [keywords] if keywords else []
    raw += metas(_KEYWORD_METAS)
    topics = []
    for value in raw:
        if not isinstance(value, str):
            continue
        for topic in value.split(","):
            topic = normalize_line(topic)
            if topic and not _CMS_CODE.search(topic) and len(topic) <= 80:
                topics.append(topic)
    return topics


def _canonical_url(tree: HtmlElement, metas: _Metas, url: str) -> str:
    """The page's own name for itself (a relative one resolved against ``url``), else ``url``."""
    for link in tree.iter("link"):
        if link.get("href") and "canonical" in (link.get("rel") or "").lower().split():
            return urljoin(url, link.get("href").strip())
    for candidate in metas([("property", "og:url")]):
        return urljoin(url, candidate.strip())
    return url


def parse_html(html: str) -> HtmlElement:
    """The page as one lxml tree, which metadata and main-text extraction both read.

    Raises:
        NoText: the text is no HTML page.
    """
    tree = load_html(html)
    if tree is None:
        raise NoText("not an HTML page")
    return tree


def clean_html(html: str, url: str, source: str | None = None) -> Article:
    """Return the Article of a news page.

    Args:
        html: the decoded page.
        url: where the page came from; a canonical link in the page takes precedence.
        source: the site or collection name, when known better than the page says.

    Raises:
        NoText: no extractor finds article text in the page.
    """
    tree = parse_html(html)
    metas = _Metas(tree)
    ld_objects = _json_ld(tree)
    article_ld = next((o for o in ld_objects if _types(o) & _ARTICLE_TYPES), {})
    url = _canonical_url(tree, metas, url)
    names = _site_names(metas, article_ld)
    host = urlsplit(url).hostname or ""
    site = names[0] if names else host.removeprefix("www.")
    title = _title(tree, metas, article_ld, site_names(names, host))
    found = main_text(tree, url if url.startswith("http") else None)
    body = found.text
    first, _, rest = body.partition("\n\n")
    headings = {title.casefold(), *(_text(h).casefold() for h in tree.iter("h1"))}
    if rest and normalize_line(first).casefold() in headings:
        body = rest  # the headline, which the article shows apart
    topics = _topics(metas, article_ld)
    people = [
        name
        for key in ("about", "mentions")
        for item in _as_list(article_ld.get(key))
        if isinstance(item, dict) and "Person" in _types(item)
        for name in _names(item)
    ]
    extra: dict[str, Any] = {"extractor": found.extractor}
    authors = _names(article_ld.get("author")) or metas([("name", "author")])
    if authors:
        extra["authors"] = [normalize_line(a) for a in authors]
    lang = tree.getroottree().getroot().get("lang")
    if lang:
        extra["language"] = lang
    return Article(
        id=id_from_url(url),
        url=url,
        title=title or body.split("\n\n", 1)[0][:200],
        body=body,
        topics=topics,
        people=people or people_in_text(body, topics),
        published=_published(tree, metas, article_ld),
        source=source or site,
        extra=extra,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
