"""A search request: its parameters, their bounds, and the 400 a bad one gets (no Whoosh)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from search import settings
from search.errors import BAD_QUERY, UNKNOWN_PARAMETER, InvalidRequest

SORTS = ("relevance", "newest")
BUCKETS = ("day", "week", "month", "year")  # the periods of a timeline
MAX_STORY = 2**63 - 1  # story ids are positive 64-bit numbers


@dataclass
class Limits:
    """The bounds a request must keep (see the settings table)."""

    per_page: int = settings.default("PER_PAGE")
    max_per_page: int = settings.default("MAX_PER_PAGE")
    max_depth: int = settings.default("MAX_DEPTH")
    max_query_length: int = settings.default("MAX_QUERY_LENGTH")
    max_expansion: int = settings.default("MAX_EXPANSION")

    @classmethod
    def from_settings(cls, setting: Callable[[str], Any] = settings.from_env) -> Limits:
        """The limits the settings give: each field is the setting of its name in capitals.

        ``setting`` reads one by name: by default from the environment (SEARCH_*), or, say,
        from a web app's config (``Limits.from_settings(app.config.__getitem__)``).
        """
        return cls(**{f.name: int(setting(f.name.upper())) for f in fields(cls)})

    def last_page(self, per_page: int) -> int:
        """The deepest page a request may ask for at ``per_page`` results a page."""
        return max(1, self.max_depth // per_page)


def refuse_unknown(params: Mapping[str, list[str]], known: tuple[str, ...]) -> None:
    """Raise InvalidRequest naming the first parameter not in ``known``, and the known ones."""
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidRequest(
            f"unknown parameter {unknown[0]!r}; known parameters are: {', '.join(known)}",
            param=unknown[0],
            code=UNKNOWN_PARAMETER,
        )


@dataclass
class SearchRequest:
    """What a reader or a program asks for: the query, filters, order and page."""

    q: str = ""
    topic: list[str] = field(default_factory=list)
    person: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = settings.default("PER_PAGE")
    recency: float = 0.0  # 0 (off) to 1: how much publication date weighs in the ranking
    explain: bool = False  # return each hit's score broken down by field and word
    collapse: bool = True  # one hit per story (its best ranked article); paging by stories
    story: int | None = None  # only the articles of this story
    bucket: str | None = None  # the timeline's period (one of BUCKETS); None: fit to its span

    SINGLE = ("q", "from", "to", "sort", "page", "per_page", "recency", "explain", "collapse")
    SINGLE += ("story",)
    SINGLE += ("bucket",)
    REPEATABLE = ("topic", "person", "source")

    @classmethod
    def from_params(cls, params: Mapping[str, list[str]], limits: Limits) -> SearchRequest:
        """Build a request from query-string parameters (each name mapped to its values).

        Raises:
            InvalidRequest: an unknown parameter, a repeated single one, or a bad value.
        """
        refuse_unknown(params, cls.SINGLE + cls.REPEATABLE)
        single: dict[str, str] = {}
        for name in cls.SINGLE:
            values = params.get(name, [])
            if len(values) > 1:
                raise InvalidRequest(f"parameter {name!r} may be given only once", name)
            if values:
                single[name] = values[0]
        q = single.get("q", "").strip()
        if len(q) > limits.max_query_length:
            raise InvalidRequest(
                f"the query is {len(q)} characters long; the limit is {limits.max_query_length}",
                "q",
                BAD_QUERY,
            )
        if "\x00" in q:
            raise InvalidRequest("the query contains a NUL character", "q", BAD_QUERY)
        sort = single.get("sort", "relevance") or "relevance"
        if sort not in SORTS:
            raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}, not {sort!r}", "sort")
        per_page = _integer(single, "per_page", limits.per_page, 1, limits.max_per_page)
        request = cls(
            q=q,
            topic=_values(params, "topic"),
            person=_values(params, "person"),
            source=_values(params, "source"),
            date_from=_date(single, "from"),
            date_to=_date(single, "to"),
            sort=sort,
            page=_integer(single, "page", 1, 1, limits.last_page(per_page)),
            per_page=per_page,
            recency=_fraction(single, "recency"),
            explain=_flag(single, "explain"),
            collapse=_flag(single, "collapse", default=True),
            story=_integer(single, "story", None, 1, MAX_STORY),
            bucket=_bucket(single),
        )
        if request.date_from and request.date_to and request.date_from > request.date_to:
            raise InvalidRequest(
                f"'from' ({request.date_from}) is after 'to' ({request.date_to})", "from"
            )
        return request

    def to_params(self) -> dict[str, Any]:
        """Return the request as its parameters (echoed in responses, used to build links)."""
        return {
            "q": self.q,
            "topic": self.topic,
            "person": self.person,
            "source": self.source,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
            "sort": self.sort,
            "page": self.page,
            "per_page": self.per_page,
            "recency": self.recency,
            "explain": self.explain,
            "collapse": self.collapse,
            "story": self.story,
            "bucket": self.bucket,
        }

    @property
    def has_filters(self) -> bool:
        """Whether the request narrows the results by anything but the query."""
        return (
            bool(self.topic or self.person or self.source or self.date_from or self.date_to)
            or self.story is not None
        )


def _values(params: Mapping[str, list[str]], name: str) -> list[str]:
    values = [v.strip() for v in params.get(name, []) if v.strip()]
    for value in values:
        if len(value) > 200 or "\x00" in value:
            raise InvalidRequest(f"{name!r} filter value is not a valid {name}", name)
    return list(dict.fromkeys(values))


def _integer(
    single: dict[str, str], name: str, default: int | None, low: int, high: int
) -> int | None:
    raw = single.get(name, "")
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        raise InvalidRequest(
            f"{name} must be a whole number from {low} to {high}, not {raw!r}", name
        )
    value = int(raw)
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be from {low} to {high}, not {value}", name)
    return value


def _fraction(single: dict[str, str], name: str) -> float:
    raw = single.get(name, "").strip()
    if not raw:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:  # also refuses nan and inf
        raise InvalidRequest(f"{name} must be a number from 0 to 1, not {raw!r}", name)
    return value


def _flag(single: dict[str, str], name: str, default: bool = False) -> bool:
    raw = single.get(name, "").strip().lower()
    if raw not in ("", "0", "1", "true", "false"):
        raise InvalidRequest(f"{name} must be 1 or 0, not {raw!r}", name)
    return default if raw == "" else raw in ("1", "true")


def _bucket(single: dict[str, str]) -> str | None:
    raw = single.get("bucket", "").strip()
    if raw and raw not in BUCKETS:
        raise InvalidRequest(
            f"bucket must be one of {', '.join(BUCKETS)} (or empty: fit to the matches' span),"
            f" not {raw!r}",
            "bucket",
        )
    return raw or None


def _date(single: dict[str, str], name: str) -> date | None:
    raw = single.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(
            f"{name!r} must be a date written YYYY-MM-DD, not {raw!r}", name
        ) from None
