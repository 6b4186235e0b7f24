"""robots.txt rules per host (protego: wildcards, Allow/Disallow precedence, Crawl-delay)."""

from __future__ import annotations

from dataclasses import dataclass, field

from protego import Protego

from search.crawl.fetch import Response

# A robots.txt asking for more than this between requests is obeyed at this pace instead of
# stalling the crawl for hours; the operator can still narrow the crawl to skip such a site.
MAX_CRAWL_DELAY = 60.0


@dataclass
class RobotsRules:
    """What one host's robots.txt allows a user agent, and how fast."""

    parser: Protego | None = None
    disallow_all: bool = False
    sitemaps: list[str] = field(default_factory=list)
    reason: str = ""

    @classmethod
    def from_text(cls, text: str) -> RobotsRules:
        """Parse a robots.txt body."""
        parser = Protego.parse(text)
        return cls(parser=parser, sitemaps=list(parser.sitemaps))

    @classmethod
    def from_response(cls, response: Response) -> RobotsRules:
        """The rules a fetch of robots.txt gives.

        Its own; none when it is missing or unreadable (a 4xx, not text); when the host could
        not answer (a 5xx, a 429, a network error), a ban on everything.
        """
        if response.status == 200 and not response.error and not response.skipped:
            return cls.from_text(response.body.decode("utf-8", errors="replace"))
        if 400 <= response.status < 500 and response.status != 429:
            return cls.allow_all(f"no robots.txt (HTTP {response.status})")
        if response.skipped:
            return cls.allow_all(f"robots.txt unreadable: {response.skipped}")
        reason = response.error or f"HTTP {response.status}"
        return cls.deny_all(f"its robots.txt could not be fetched: {reason}")

    @classmethod
    def allow_all(cls, reason: str = "") -> RobotsRules:
        """No robots.txt (a 4xx answer): everything may be fetched."""
        return cls(reason=reason)

    @classmethod
    def deny_all(cls, reason: str) -> RobotsRules:
        """robots.txt could not be read (5xx, network error): fetch nothing from the host."""
        return cls(disallow_all=True, reason=reason)

    def allows(self, url: str, agent: str) -> bool:
        """Return whether ``agent`` may fetch ``url``."""
        if self.disallow_all:
            return False
        return self.parser is None or self.parser.can_fetch(url, agent)

    def delay(self, agent: str) -> float:
        """Return the Crawl-delay (or 1 / Request-rate) for ``agent``, in seconds; 0 if none."""
        if self.parser is None:
            return 0.0
        delay = self.parser.crawl_delay(agent) or 0.0
        rate = self.parser.request_rate(agent)
        if rate and rate.requests:
            delay = max(delay, rate.seconds / rate.requests)
        return min(float(delay), MAX_CRAWL_DELAY)


def agent_token(user_agent: str) -> str:
    """Return the product token that robots.txt groups name (``NewsSearchBot`` of ``.../1.0``)."""
    return user_agent.split("/", 1)[0].split()[0] if user_agent.strip() else "*"
