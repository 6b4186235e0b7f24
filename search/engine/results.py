"""What a search gives back: typed hits, facet counts and the response (no Whoosh types)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any

from search.article import Article, public_url


@dataclass(frozen=True)
class ArticleSummary:
    """An article as a list of results shows it, with its score (None when not ranked).

    ``url`` is the original's public address, None when it has none (an ingested file).
    """

    id: str
    url: str | None
    title: str
    published: str | None  # ISO 8601, in UTC
    source: str
    topics: list[str]
    people: list[str]
    score: float | None
    story: int | None = None  # the story it tells (articles with near-identical bodies)

    @classmethod
    def of(cls, article: Article, score: float | None) -> ArticleSummary:
        """The summary of ``article``, its score rounded as the JSON shows it."""
        published = article.published.astimezone(UTC).isoformat() if article.published else None
        return cls(
            id=article.id,
            url=public_url(article.url),
            title=article.title,
            published=published,
            source=article.source,
            topics=article.topics,
            people=article.people,
            score=round(score, 4) if score is not None else None,
            story=article.story,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "published": self.published,
            "source": self.source,
            "topics": self.topics,
            "people": self.people,
            "score": self.score,
            "story": self.story,
        }


@dataclass(frozen=True)
class Hit(ArticleSummary):
    """One result: the summary, its title and snippet as HTML whose only markup is <mark>
    (all document text escaped), and, when asked for, why it ranked where it did. ``places``
    (the places a source such as Reuters names) is shown on the page."""

    title_html: str = ""
    snippet: str = ""
    explain: dict[str, Any] | None = None
    places: list[str] = field(default_factory=list)
    versions: int = 0  # how many other articles tell its story

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the page's places left out: /api/article has every field)."""
        result = {
            **super().to_dict(),
            "versions": self.versions,
            "title_html": self.title_html,
            "snippet": self.snippet,
        }
        if self.explain is not None:
            result["explain"] = self.explain
        return result


@dataclass(frozen=True)
class FacetCount:
    """One value of a facet and how many matches have it."""

    value: str
    count: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"value": self.value, "count": self.count}


@dataclass(frozen=True)
class TimelineBucket:
    """One period of the timeline: its first and last day, and how many matches it holds."""

    start: date
    end: date  # the period's last day, inclusive
    count: int
    unit: str  # day, week (from Monday), month or year

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "count": self.count,
            "unit": self.unit,
        }


@dataclass(frozen=True)
class Timeline:
    """The matches over time (search.engine.timeline): every period of their span in one
    ``unit`` (None when no match is dated), in order, and how many matches have no date."""

    unit: str | None = None
    buckets: list[TimelineBucket] = field(default_factory=list)
    undated: int = 0
    notice: str | None = None  # why the unit is not the one the request asked for


@dataclass
class SearchResponse:
    """The answer to a search request, as the search contract describes it."""

    request: dict[str, Any]  # the request's parameters, echoed
    total: int
    pages: int  # pages of results, up to the deepest page a request may ask for
    results: list[Hit]
    facets: dict[str, list[FacetCount]]  # counted over every match, not just the page
    suggestion: str | None = None
    notices: list[str] = field(default_factory=list)
    generation: str | None = None
    stories: int = 0  # how many stories the matches tell (``total`` counts articles)
    timeline: Timeline = field(default_factory=Timeline)  # over every match, as the facets
    took_ms: float = 0.0
    next_cursor: str | None = None  # where the results after this page go on (search.cursor)

    def neighbours(self) -> tuple[int | None, int | None]:
        """The numbers of the next and the previous page, None at either end (past the end,
        the previous page is the last one)."""
        page = self.request["page"]
        following = page + 1 if page < self.pages else None
        previous = min(page - 1, max(self.pages, 1)) if page > 1 else None
        return following, previous

    def to_dict(self, page_url: Callable[[int], str] | None = None) -> dict[str, Any]:
        """The JSON form; given ``page_url`` (the address of this search's page N), with the
        addresses of the next and the previous page."""
        links = {}
        if page_url:
            links = {
                name: page_url(number) if number else None
                for name, number in zip(("next", "previous"), self.neighbours(), strict=True)
            }
        return {
            "request": self.request,
            "total": self.total,
            "stories": self.stories,
            "page": self.request["page"],
            "per_page": self.request["per_page"],
            "pages": self.pages,
            **links,
            "results": [hit.to_dict() for hit in self.results],
            "facets": {
                **{name: [c.to_dict() for c in counts] for name, counts in self.facets.items()},
                "timeline": [bucket.to_dict() for bucket in self.timeline.buckets],
            },
            "suggestion": self.suggestion,
            "notices": self.notices,
            "generation": self.generation,
            "next_cursor": self.next_cursor,
            "took_ms": self.took_ms,
        }
