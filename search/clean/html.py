"""HTML news page -> Article: main text by trafilatura, metadata from the page's own markup."""

from __future__ import annotations

import json
import logging
import re
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from bs4 import BeautifulSoup, UnicodeDammit, XMLParsedAsHTMLWarning

from search.article import Article, NoText, id_from_url, normalize_line, parse_datetime
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
# "| Site", "- Site" or "— Site" at the end of a <title>.
_TITLE_SUFFIX = re.compile(r"\s+[|\-\u2013\u2014:\u00b7]\s+[^|\-\u2013\u2014:\u00b7]+$")
# CMS codes and ids that pages put among their tags: "tag:abc123", "cms-00412", "a1b2c3d4...".
_CMS_CODE = re.compile(r"[:/=_#]|\d{3,}|^[0-9a-f]{8,}$|^[a-z0-9]+(?:-[a-z0-9]+)*-\d+$", re.I)
# Less than this is a menu or a caption that trafilatura fell back on, not an article.
MIN_TEXT_CHARS = 40
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)


def decode_html(raw: bytes, declared: str | None = None) -> str:
    """Decode page bytes by the declared charset, the page's own <meta>, or by sniffing."""
    dammit = UnicodeDammit(raw, [declared] if declared else [], is_html=True)
    if dammit.unicode_markup is None:
        return raw.decode("utf-8", errors="replace")
    return dammit.unicode_markup


def _json_ld(soup: BeautifulSoup) -> list[dict[str, Any]]:
    """Return the JSON-LD objects of the page, with @graph lists flattened."""
    objects: list[dict[str, Any]] = []
    for script in soup.find_all("script", type="application/ld+json"):
        try:
            data = json.loads(script.string or "")
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


def _metas(soup: BeautifulSoup, pairs: list[tuple[str, str]]) -> list[str]:
    values = []
    for attr, name in pairs:
        for tag in soup.find_all("meta", attrs={attr: re.compile(f"^{re.escape(name)}$", re.I)}):
            if tag.get("content"):
                values.append(tag["content"])
    return values


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


def _site_name(soup: BeautifulSoup, article_ld: dict[str, Any], url: str) -> str:
    candidates = _metas(soup, [("property", "og:site_name"), ("name", "application-name")])
    candidates += _names(article_ld.get("publisher"))
    if candidates:
        return normalize_line(candidates[0])
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def _title(soup: BeautifulSoup, article_ld: dict[str, Any], site: str) -> str:
    """The page's single <h1> unless it is the site name; else og:title, headline, <title>."""
    headings = [normalize_line(h.get_text(" ")) for h in soup.find_all("h1")]
    headings = [h for h in headings if h]
    if len(headings) == 1 and headings[0].casefold() != site.casefold():
        return headings[0]
    for candidate in _metas(soup, [("property", "og:title"), ("name", "twitter:title")]):
        return normalize_line(candidate)
    if isinstance(article_ld.get("headline"), str):
        return normalize_line(article_ld["headline"])
    if soup.title and soup.title.string:
        return _TITLE_SUFFIX.sub("", normalize_line(soup.title.string))
    return ""


def _published(soup: BeautifulSoup, article_ld: dict[str, Any]) -> datetime | None:
    candidates = [article_ld.get("datePublished"), article_ld.get("dateCreated")]
    candidates += _metas(soup, _DATE_METAS)
    candidates += [t.get("datetime") for t in soup.find_all("time")]
    for candidate in candidates:
        if candidate and (date := _valid_date(candidate)):
            return date
    return None


def _topics(soup: BeautifulSoup, article_ld: dict[str, Any]) -> list[str]:
    raw: list[str] = []
    keywords = article_ld.get("keywords")
    raw += keywords if isinstance(keywords, list) else [keywords] if keywords else []
    raw += _metas(soup, _KEYWORD_METAS)
    topics = []
    for value in raw:
        if not isinstance(value, str):
            continue
        for topic in value.split(","):
            topic = normalize_line(topic)
            if topic and not _CMS_CODE.search(topic) and len(topic) <= 80:
                topics.append(topic)
    return topics


def _canonical_url(soup: BeautifulSoup, url: str) -> str:
    """The page's own name for itself (a relative one resolved against ``url``), else ``url``."""
    for link in soup.find_all("link", href=True):
        if "canonical" in (link.get("rel") or []):
            return urljoin(url, link["href"].strip())
    for candidate in _metas(soup, [("property", "og:url")]):
        return urljoin(url, candidate.strip())
    return url


def _main_text(html: str, url: str) -> str:
    text = trafilatura.extract(
        html,
        url=url if url.startswith("http") else None,
        include_comments=False,
        include_tables=False,
        favor_precision=True,
        deduplicate=False,
    )
    # trafilatura puts one paragraph per line; the Article contract separates them by blank lines.
    return "\n\n".join(line.strip() for line in (text or "").split("\n") if line.strip())


def clean_html(html: str, url: str, source: str | None = None) -> Article:
    """Return the Article of a news page.

    Args:
        html: the decoded page.
        url: where the page came from; a canonical link in the page takes precedence.
        source: the site or collection name, when known better than the page says.

    Raises:
        ValueError: the page has no main text.
    """
    with warnings.catch_warnings():
        # A page is always read as HTML: an XHTML page's "<?xml" declaration is no reason to
        # warn (under pytest's filterwarnings=error the warning would fail the page).
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    ld_objects = _json_ld(soup)
    article_ld = next((o for o in ld_objects if _types(o) & _ARTICLE_TYPES), {})
    url = _canonical_url(soup, url)
    site = _site_name(soup, article_ld, url)
    title = _title(soup, article_ld, site)
    body = _main_text(html, url)
    if len(body) < MIN_TEXT_CHARS:
        raise NoText(f"no main text found ({len(body)} characters)")
    first, _, rest = body.partition("\n\n")
    if rest and normalize_line(first).casefold() == title.casefold():
        body = rest
    topics = _topics(soup, article_ld)
    people = [
        name
        for key in ("about", "mentions")
        for item in _as_list(article_ld.get(key))
        if isinstance(item, dict) and "Person" in _types(item)
        for name in _names(item)
    ]
    extra: dict[str, Any] = {}
    authors = _names(article_ld.get("author")) or _metas(soup, [("name", "author")])
    if authors:
        extra["authors"] = [normalize_line(a) for a in authors]
    lang = soup.html.get("lang") if soup.html else None
    if lang:
        extra["language"] = lang
    return Article(
        id=id_from_url(url),
        url=url,
        title=title or body.split("\n\n", 1)[0][:200],
        body=body,
        topics=topics,
        people=people or people_in_text(body, topics),
        published=_published(soup, article_ld),
        source=source or site,
        extra=extra,
    )


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
