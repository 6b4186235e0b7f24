"""Plain-text article -> Article: headline or first sentence, paragraphs, trailing TOPICS line."""

from __future__ import annotations

import re

from search.article import Article, NoText, id_from_url, normalize_line, normalize_text
from search.clean.names import people_in_text, split_topic_line

_TOPICS_LINE = re.compile(r"\n\s*TOPICS\s*:(?P<topics>[^\n]*)\s*$", re.IGNORECASE)
# Where a sentence ends: . ! or ? (maybe closed by a quote), a space, then a capital or a quote.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019]?\s+(?=[\"\u201c\u2018]?[A-Z])")
# Words whose full stop does not end a sentence.
_ABBREVIATION = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Gen|Gov|Sen|Rep|Inc|Corp|Ltd|Co|No|vs|Jan|Feb|Mar|Apr"
    r"|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z]|(?:[A-Za-z]\.)+[A-Za-z])\.$"
)
_HEADLINE_MAX_WORDS = 25


def _reads_as_headline(line: str) -> bool:
    """A headline is one short line that does not end like a sentence."""
    return 0 < len(line.split()) <= _HEADLINE_MAX_WORDS and not line.endswith((".", ",", ";", ":"))


def first_sentence(paragraph: str) -> str:
    """Return the first sentence of ``paragraph`` (abbreviations such as "U.S." do not end it)."""
    for match in _SENTENCE_END.finditer(paragraph):
        candidate = paragraph[: match.start()].rstrip()
        if not _ABBREVIATION.search(candidate):
            return candidate
    return paragraph


def clean_text(text: str, url: str, source: str) -> Article:
    """Return the Article of a plain-text news article.

    The first line is the title when it reads as a headline, otherwise the first sentence
    stands in (and the body keeps it). A closing ``TOPICS:`` line becomes the topics.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    topics: list[str] = []
    match = _TOPICS_LINE.search("\n" + text.rstrip())
    if match:
        text = ("\n" + text.rstrip())[: match.start()]
    body = normalize_text(text)
    if not body:
        raise NoText("no text")
    if match:
        topics = split_topic_line(normalize_line(match.group("topics")), body)
    lines = text.strip().split("\n")
    first_line = normalize_line(lines[0])
    followed_by_break = len(lines) == 1 or not lines[1].strip()
    if followed_by_break and _reads_as_headline(first_line) and "\n\n" in body:
        title = first_line
        body = body.split("\n\n", 1)[1]
    else:
        title = first_sentence(body.split("\n\n", 1)[0]).rstrip(".")
    return Article(
        id=id_from_url(url),
        url=url,
        title=title,
        body=body,
        topics=topics,
        people=people_in_text(body, topics),
        source=source,
    )
