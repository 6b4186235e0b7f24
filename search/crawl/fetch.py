"""The HTTP client of the crawler: timeouts, retries, redirects, size limits, address guard."""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib.metadata import version

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError
from urllib3.exceptions import HTTPError as Urllib3Error

from search.crawl.urls import BadURL, canonical_url, host_key

logger = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)
RETRY_LATER = (429, 503)  # the server asks us to come back: honour Retry-After
CHUNK = 64 * 1024
STOPPED = "crawl stopped"  # the error of a fetch cut short by the crawl stopping


class BlockedAddress(Exception):
    """The host resolved to an address the crawler must not contact (loopback, private, ...)."""


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


class _GuardedHTTPConnection(HTTPConnection):
    """Checks the address actually connected to, so a DNS answer cannot smuggle in a private one."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        address = sock.getpeername()[0]
        if _blocked(address):
            sock.close()
            raise BlockedAddress(
                f"{self.host} resolves to {address}, a loopback, private, link-local or "
                "multicast address (allow with --allow-private)"
            )
        return sock


class _GuardedHTTPSConnection(HTTPSConnection, _GuardedHTTPConnection):
    """HTTPS with the same address check."""


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


@dataclass
class FetchPolicy:
    """How patient and how generous the client is."""

    user_agent: str
    timeout: float = 10.0  # connect and read, each
    max_bytes: int = 5_000_000
    retries: int = 3  # extra attempts after a 5xx, a 429 or a timeout
    backoff: float = 1.0  # first wait between attempts; doubles each time
    max_retry_after: float = 120.0  # a longer Retry-After is a failure, not a wait
    max_redirects: int = 10
    allow_private: bool = False


@dataclass
class Response:
    """What one fetch came to: a body, a redirect to another host, or a failure with a reason."""

    url: str  # the URL asked for
    final_url: str  # after same-host redirects
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""  # set when the fetch failed; the reason a person can read
    skipped: str = ""  # set when the fetch worked but the page is not for us (type, robots)
    redirect: str = ""  # a redirect to another host, left for the scheduler to queue

    @property
    def content_type(self) -> str:
        """The media type, lower-cased, without parameters."""
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset the Content-Type header declares, if any."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


def crawler_user_agent(contact: str = "") -> str:
    """The crawler's descriptive User-Agent, with the operator's contact (a URL or an e-mail)."""
    suffix = f"; +{contact}" if contact else ""
    return f"NewsSearchBot/{version('news-search')} (news search crawler{suffix})"


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Fetcher:
    """A thread-safe HTTP client that sends no cookies and no credentials, ever."""

    def __init__(self, policy: FetchPolicy, stop: threading.Event | None = None):
        self.policy = policy
        self.stop = stop or threading.Event()
        self._headers = {
            "User-Agent": policy.user_agent,
            # Only encodings whose decompression urllib3 bounds while streaming.
            "Accept-Encoding": "gzip, deflate",
            "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.5",
        }
        self._pool = urllib3.PoolManager(
            num_pools=64,
            maxsize=4,
            block=False,
            retries=False,
            timeout=urllib3.Timeout(connect=policy.timeout, read=policy.timeout),
        )
        if not policy.allow_private:
            self._pool.pool_classes_by_scheme = {
                "http": _GuardedHTTPPool,
                "https": _GuardedHTTPSPool,
            }

    def fetch(
        self,
        url: str,
        accept: Callable[[str], bool],
        headers: dict[str, str] | None = None,
        permitted: Callable[[str], str] | None = None,
        any_host: bool = False,
        pause: float = 0.0,
        validated: str | None = None,
    ) -> Response:
        """GET ``url``, retrying and following same-host redirects; never raises for HTTP faults.

        Args:
            accept: says whether a media type is worth downloading (others are skipped unread).
            headers: extra request headers (conditional GET) for the URL ``validated``.
            permitted: returns why a redirect target may not be fetched ("" when it may).
            any_host: follow redirects to other hosts too (otherwise they are returned).
            pause: the host's politeness delay, kept between redirect hops and retries too.
        """
        seen = [url]
        current = url
        for _ in range(self.policy.max_redirects + 1):
            # Validators belong to the copy we hold: the URL it was last fetched from.
            extra = (headers or {}) if current == (validated or url) else {}
            response = self._with_retries(url, current, accept, extra, pause)
            if response.status not in REDIRECTS or response.error:
                return response
            location = response.headers.get("location", "")
            try:
                target = canonical_url(location, base=current)
            except BadURL as error:
                return self._fail(response, f"redirect to a bad URL: {error}")
            if target in seen:
                chain = " -> ".join([*seen, target])
                return self._fail(response, f"redirect loop: {chain}")
            seen.append(target)
            if host_key(target) != host_key(url) and not any_host:
                # Another host has its own robots.txt and politeness: the scheduler queues it.
                response.redirect = target
                return response
            why_not = permitted(target) if permitted else ""
            if why_not:
                response.skipped = f"redirected to {target}: {why_not}"
                return response
            current = target
            if self.stop.wait(pause):
                return self._fail(response, STOPPED)
        return self._fail(response, f"more than {self.policy.max_redirects} redirects")

    @staticmethod
    def _fail(response: Response, reason: str) -> Response:
        response.error = reason
        response.body = b""
        return response

    def _with_retries(
        self,
        url: str,
        current: str,
        accept: Callable[[str], bool],
        headers: dict[str, str],
        pause: float,
    ) -> Response:
        policy = self.policy
        attempt = 0
        while True:
            attempt += 1
            response = self._once(url, current, accept, headers)
            wait = None
            if response.error and response.status == 0 and not response.error.startswith("blocked"):
                wait = policy.backoff * 2 ** (attempt - 1)  # a timeout or a dropped connection
            elif response.status in RETRY_LATER:
                asked = retry_after(response.headers.get("retry-after"))
                if asked is not None and asked > policy.max_retry_after:
                    return self._fail(
                        response, f"HTTP {response.status}, Retry-After {asked:g} s is too long"
                    )
                wait = asked if asked is not None else policy.backoff * 2 ** (attempt - 1)
            elif response.status >= 500:
                wait = policy.backoff * 2 ** (attempt - 1)
            if wait is None:
                return response
            if attempt > policy.retries:
                if not response.error:
                    response.error = f"HTTP {response.status}"
                return self._fail(response, f"{response.error} after {attempt} attempts")
            logger.debug(
                "retry %s in %.2f s (%s)", current, wait, response.error or response.status
            )
            if self.stop.wait(max(wait, pause)):
                return self._fail(response, STOPPED)

    def _once(
        self, url: str, current: str, accept: Callable[[str], bool], headers: dict[str, str]
    ) -> Response:
        """One request, streamed with the size and time limits."""
        result = Response(url=url, final_url=current)
        deadline = time.monotonic() + self.policy.timeout * 6
        try:
            raw = self._pool.request(
                "GET",
                current,
                # Given headers replace the pool's own, so ours are always sent whole.
                headers={**self._headers, **headers},
                preload_content=False,
                redirect=False,
            )
        except BlockedAddress as error:
            return self._fail(result, f"blocked: {error}")
        except Urllib3Error as error:
            return self._fail(result, _reason(error))
        try:
            result.status = raw.status
            result.headers = {k.lower(): v for k, v in raw.headers.items()}
            if raw.status != 200:
                # 404, 410 and the other 4xx are final; 3xx, 304, 429 and 5xx are the
                # caller's to follow, keep or retry.
                final = raw.status < 500 and raw.status not in (*REDIRECTS, 304, *RETRY_LATER)
                if final:
                    result.error = f"HTTP {raw.status}"
                return result
            if not accept(result.content_type):
                result.skipped = f"not a page we read ({result.content_type or 'no type'})"
                return result
            declared = result.headers.get("content-length", "")
            limit = self.policy.max_bytes
            encoded = "content-encoding" in result.headers
            if declared.isdigit() and int(declared) > limit and not encoded:
                return self._fail(result, f"too large: {declared} bytes (limit {limit})")
            chunks: list[bytes] = []
            total = 0
            # urllib3 (>= 2.6) decompresses no more than each read asks for, so a compression
            # bomb is cut off at the limit like any other oversized body.
            for chunk in raw.stream(CHUNK, decode_content=True):
                total += len(chunk)
                if total > limit:
                    return self._fail(result, f"too large: more than {limit} bytes")
                if time.monotonic() > deadline:
                    return self._fail(result, "too slow: the body did not finish in time")
                if self.stop.is_set():
                    return self._fail(result, STOPPED)
                chunks.append(chunk)
            result.body = b"".join(chunks)
            return result
        except Urllib3Error as error:
            return self._fail(result, _reason(error))
        finally:
            # Dropping the connection (not draining it) is what cuts off an endless body.
            raw.release_conn() if raw.isclosed() else raw.close()


def _reason(error: Exception) -> str:
    """A short, readable reason for a transport failure."""
    text = str(getattr(error, "reason", None) or error)
    if isinstance(error, DecodeError):
        return f"undecodable body (Content-Encoding): {text}"
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return f"timeout: {text}"
    return f"connection failed: {text}"
