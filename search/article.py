"""Article: the one record that flows from the cleaner to the store, the index and the results."""

from __future__ import annotations

import copy
import hashlib
import html
import re
import unicodedata
from dataclasses import InitVar, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

# Control characters other than tab and newline never belong in text (Reuters ends stories in \x03).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Closing quotes and brackets, and the marks that end a sentence (or lead into what follows).
_CLOSERS = "\"'\u201d\u2019)]\u00bb"
_SENTENCE_ENDS = (".", "!", "?", "\u2026", ":", ";")
SUBHEADING_MAX_WORDS = 12


class NoText(ValueError):
    """The input was read but holds no article text: nothing to index, nothing broken."""


def normalize_text(text: str) -> str:
    """Return ``text`` in NFC with entities decoded and whitespace tidied, words untouched.

    Paragraphs (separated by blank lines) are kept; runs of spaces and single line breaks
    inside a paragraph become one space.
    """
    text = unicodedata.normalize("NFC", html.unescape(text))
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    paragraphs = (_SPACES.sub(" ", p.replace("\n", " ")).strip() for p in _BLANK_LINES.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def ends_like_sentence(paragraph: str) -> bool:
    """Whether a paragraph ends as prose does (. ! ? … : ;), closing quotes aside."""
    return paragraph.rstrip().rstrip(_CLOSERS).endswith(_SENTENCE_ENDS)


def is_subheading(paragraph: str, before: str | None, after: str | None) -> bool:
    """Whether a body paragraph is a sub-heading: a short line between two paragraphs of
    prose that does not end like a sentence, begins with a capital and whose every word has a
    letter (a row of a table, such as Reuters' "V 4.65 --", is not one)."""
    words = paragraph.split()
    return (
        before is not None
        and after is not None
        and 0 < len(words) <= SUBHEADING_MAX_WORDS
        and paragraph[0].isupper()
        and not paragraph.rstrip().endswith((",", "-", "\u2013", "\u2014"))
        and not ends_like_sentence(paragraph)
        and all(any(c.isalpha() for c in word) for word in words)
        and ends_like_sentence(before)
        and ends_like_sentence(after)
        and len(after) > len(paragraph)
    )


def body_blocks(body: str) -> list[tuple[str, str]]:
    """A body's paragraphs (separated by blank lines) as ``("heading" | "paragraph", text)``.

    Bodies store a sub-heading as a paragraph of its own (the plain-text and HTML cleaners
    keep them so); :func:`is_subheading` tells them apart when the body is shown.
    """
    paragraphs = [p for p in body.split("\n\n") if p.strip()]
    blocks = []
    for i, paragraph in enumerate(paragraphs):
        before = paragraphs[i - 1] if i else None
        after = paragraphs[i + 1] if i + 1 < len(paragraphs) else None
        kind = "heading" if is_subheading(paragraph, before, after) else "paragraph"
        blocks.append((kind, paragraph))
    return blocks


def normalize_line(text: str) -> str:
    """Return one line of text (a title, a topic, a name) normalised to a single line."""
    return normalize_text(text).replace("\n\n", " ")


def public_url(url: str) -> str | None:
    """The address a reader may follow to the original: an http(s) URL, else None.

    A file that was ingested keeps its file:// address in the store (it names the article's
    origin for the operator), but that address is a path on the server: never published.
    Nor is a url that cannot be read as one (a JSON Lines file may give any string).
    """
    try:
        scheme = urlsplit(url).scheme
    except ValueError:  # such as "http://[oops": an unclosed IPv6 address
        return None
    return url if scheme.lower() in ("http", "https") else None


def id_from_url(url: str) -> str:
    """Return a stable article id derived from its canonical URL."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:20]


def _unique(values: list[str]) -> list[str]:
    """Return the normalised, non-empty values once each, in their first order."""
    seen: dict[str, None] = {}
    for value in values:
        value = normalize_line(value)
        if value and value.casefold() not in (v.casefold() for v in seen):
            seen[value] = None
    return list(seen)


@dataclass
class Article:
    """A cleaned news article, as stored, indexed and returned."""

    id: str
    url: str
    title: str
    body: str
    topics: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    published: datetime | None = None
    source: str = ""
    fetched: datetime | None = None
    # Anything else the source offers (places, organisations, authors, language), kept verbatim.
    extra: dict[str, Any] = field(default_factory=dict)
    # The story it belongs to: the articles whose bodies are near-identical share one
    # (search.stories). Given by the store; None until the store has clustered it.
    story: int | None = None
    # True for an article this code stored (the store, the index): its text is used as it is.
    # Normalising twice would change text that spells out an entity: "&amp;lt;" read once is
    # the text "&lt;", read again "<".
    normalised: InitVar[bool] = False

    def __post_init__(self, normalised: bool) -> None:
        self.published = _aware(self.published)
        self.fetched = _aware(self.fetched)
        if normalised:
            return
        self.title = normalize_line(self.title)
        self.body = normalize_text(self.body)
        self.topics = _unique(self.topics)
        self.people = _unique(self.people)
        self.source = normalize_line(self.source)

    def to_dict(self) -> dict[str, Any]:
        """Return the article as JSON-ready values (datetimes as ISO 8601 strings)."""
        # (asdict() would copy every string too: a tenth of a large ingest's time)
        data = {item.name: getattr(self, item.name) for item in fields(self)}
        data.update(topics=list(self.topics), people=list(self.people))
        data["extra"] = copy.deepcopy(self.extra)
        for key in ("published", "fetched"):
            data[key] = data[key].isoformat() if data[key] else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], normalised: bool = False) -> Article:
        """Build an article from :meth:`to_dict` output (or a JSON object of the same shape);
        ``normalised`` when this code stored it.

        Raises:
            ValueError: a field has the wrong type or an unreadable date.
        """
        known = {"id", "url", "title", "body", "topics", "people", "published", "source", "fetched"}
        known.add("story")
        values = {key: data[key] for key in known if data.get(key) is not None}
        story = values.get("story")
        if story is not None and (type(story) is not int or story < 0):
            raise ValueError("'story' must be a whole number")
        for key in ("id", "url", "title", "body", "source"):
            if not isinstance(values.get(key, ""), str):
                raise ValueError(f"{key!r} must be a string")
        for key in ("topics", "people"):
            value = values.get(key, [])
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{key!r} must be a list of strings")
            values[key] = value
        for key in ("published", "fetched"):
            if key in values:
                values[key] = parse_datetime(values[key])
        extra = dict(data.get("extra") or {})
        extra.update({k: v for k, v in data.items() if k not in known and k != "extra"})
        if not values.get("id"):
            if not values.get("url"):
                raise ValueError("an article needs an 'id' or a 'url'")
            values["id"] = id_from_url(values["url"])
        values.setdefault("url", "")
        values.setdefault("title", "")
        values.setdefault("body", "")
        return cls(**values, extra=extra, normalised=normalised)


def parse_datetime(value: Any) -> datetime:
    """Parse an ISO 8601 string (or pass a datetime through) into an aware datetime.

    Raises:
        ValueError: the value is not a date a person would accept.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"unreadable date {value!r} (expected ISO 8601)") from None
    else:
        raise ValueError(f"unreadable date {value!r} (expected ISO 8601)")
    return _aware(parsed)


def _aware(value: datetime | None) -> datetime | None:
    """Return ``value`` with a timezone: naive datetimes are taken as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
