"""Canonical URLs and crawl scope: one spelling per page, and which sites a crawl may enter."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit, urlunsplit

from courlan import normalize_url

SCHEMES = ("http", "https")


class BadURL(ValueError):
    """A URL the crawler will not fetch (wrong scheme, no host, unparsable)."""


def canonical_url(url: str, base: str | None = None) -> str:
    """Return the one spelling of ``url`` (resolved against ``base``) the crawler keys pages by.

    Scheme and host lower-cased, the scheme's default port, the fragment, user name and password
    dropped, tracking parameters (``utm_*``, ``fbclid``, ``gclid`` and the like) removed and the
    rest of the query sorted (courlan's normalisation).

    Raises:
        BadURL: not an http(s) URL with a host.
    """
    url = url.strip()
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as error:
        raise BadURL(f"unparsable URL {url!r}: {error}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise BadURL(f"only http and https URLs are crawled, not {url!r}")
    if not host:
        raise BadURL(f"URL without a host: {url!r}")
    # Credentials never travel with a request: drop them before anything else sees the URL.
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    try:
        normal = normalize_url(urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")))
    except ValueError as error:
        raise BadURL(f"unparsable URL {url!r}: {error}") from None
    parts = urlsplit(normal)
    # "http://host" and "http://host/" are one page.
    return urlunsplit(parts._replace(path=parts.path or "/", fragment=""))


def host_key(url: str) -> str:
    """Return the scheme and host:port of ``url``: the unit of politeness and robots.txt."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def site_of(url_or_domain: str) -> str:
    """Return the site a start URL or ``--allow-domain`` value names: its host without www."""
    text = url_or_domain.strip()
    host = urlsplit(text).hostname if "://" in text else text.split("/")[0].split(":")[0]
    if not host:
        raise BadURL(f"no host in {url_or_domain!r}")
    return host.lower().rstrip(".").removeprefix("www.")


class Scope:
    """The sites a crawl may enter: each one and its subdomains."""

    def __init__(self, sites: list[str]):
        self.sites = sorted({site_of(s) for s in sites})

    def __contains__(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        return any(host == s or host.endswith("." + s) for s in self.sites)
