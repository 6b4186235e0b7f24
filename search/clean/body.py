"""A page's main text: trafilatura's main pass, its fallbacks when that finds too little, and
the lines of boilerplate that extractors keep but a reader would not."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import trafilatura
from lxml.html import HtmlElement

from search.article import NoText

logger = logging.getLogger(__name__)

# Less than this is a menu or a caption that an extractor fell back on, not an article.
MIN_TEXT_CHARS = 40
# A main pass shorter than this is checked against the fallbacks (trafilatura's own
# MIN_EXTRACTED_SIZE, below which it tries them itself).
ENOUGH_TEXT_CHARS = 250

# What each extractor is called in an article's ``extractor`` extra, in the order they are tried.
MAIN = "trafilatura"  # precision mode, no fallbacks
FALLBACKS = "trafilatura-fallbacks"  # the same compared with readability and jusText
RECALL = "trafilatura-recall"  # recall mode: also its whole-page baseline
_OPTIONS = {
    MAIN: {"fast": True, "favor_precision": True},
    FALLBACKS: {"fast": False, "favor_precision": True},
    RECALL: {"fast": False, "favor_recall": True},
}

# Lines that name or lead to other content: "Read more: <headline>", "DON'T MISS",
# "You may also like...", "Related: <headline>", "Most read in world news", "Tags: a, b".
_TEASER = re.compile(
    r"^(?:read more|see more|more|also read|read also|related(?: posts?| articles?| stories)?"
    r"|you may also like|you might also like|don'?t miss|most read\b.*|filed under|tags?"
    r"|tagged(?: with)?)\s*(?:[:.\u2026|]|$)",
    re.IGNORECASE,
)
# A teaser headline labelled with its kind: "Plague outbreak confirmed [VIDEO]".
_LABELLED_LINK = re.compile(r"\w\W*\s\[[A-Z][A-Z ]{2,}\]\s*\|?$")
# "3 comments", "Comments", "Tell us what you think...": the door to the comments.
_COMMENTS = re.compile(r"^(?:\d+\s+)?comments?$|^tell us what you think\W*$", re.IGNORECASE)
# A newsletter pitch: signing up and a newsletter or inbox in one paragraph.
_SIGN_UP = re.compile(r"\b(?:sign up|subscribe|subscription)\b", re.IGNORECASE)
_NEWSLETTER = re.compile(r"\b(?:newsletters?|inbox)\b", re.IGNORECASE)
# Credits that close a story: "(Reporting by ...; editing by ...)", "Fox News' Jane Doe
# contributed to this report."
_CREDIT = re.compile(
    r"^\(?(?:additional )?(?:reporting|writing|editing) by\b|contributed to this report\W*$",
    re.IGNORECASE,
)
_WORDS = re.compile(r"\w")
# Paragraphs longer than this are prose, whatever they start with.
_SHORT_WORDS = 40


@dataclass
class Body:
    """The main text of a page and which extractor found it."""

    text: str
    extractor: str


def _extract(tree: HtmlElement, url: str | None, extractor: str) -> str:
    text = trafilatura.extract(
        tree,
        url=url,
        include_comments=False,
        include_tables=False,
        deduplicate=False,
        **_OPTIONS[extractor],
    )
    return text or ""


def is_boilerplate(paragraph: str) -> bool:
    """Whether a paragraph is a teaser, a newsletter pitch or the door to the comments."""
    line = paragraph.strip()
    if len(line.split()) > _SHORT_WORDS:
        return False
    return bool(
        _TEASER.match(line)
        or _LABELLED_LINK.search(line)
        or _COMMENTS.match(line)
        or (_SIGN_UP.search(line) and _NEWSLETTER.search(line))
    )


def _is_closing(paragraph: str) -> bool:
    """Whether a paragraph is a credit line, which ends a story."""
    line = paragraph.strip()
    return len(line.split()) <= _SHORT_WORDS and bool(_CREDIT.search(line))


def drop_boilerplate(paragraphs: list[str]) -> list[str]:
    """The paragraphs without teasers and pitches, and without the credits that close them."""
    kept = [p for p in paragraphs if not is_boilerplate(p)]
    while len(kept) > 1 and _is_closing(kept[-1]):
        kept.pop()
    return kept or paragraphs


def _link_texts(tree: HtmlElement) -> set[str]:
    """The texts of the page's links, whitespace tidied."""
    return {" ".join(a.text_content().split()) for a in tree.iter("a")}


def main_text(tree: HtmlElement, url: str | None) -> Body:
    """The page's main text, paragraphs separated by blank lines, and who found it.

    The main pass runs alone; when it finds less than ``ENOUGH_TEXT_CHARS`` the others run in
    turn and the first that finds enough (else the longest) is taken, counting only the lines
    that are not a link's whole text.

    Raises:
        NoText: every extractor found less than ``MIN_TEXT_CHARS``.
    """
    found: dict[str, str] = {}
    # How much of each text is not a link's whole text: a fallback reads more of the page,
    # and a section page's list of links or a menu is no article.
    sizes: dict[str, int] = {}
    links: set[str] = set()
    for extractor in _OPTIONS:
        lines = [" ".join(line.split()) for line in _extract(tree, url, extractor).split("\n")]
        lines = drop_boilerplate([line for line in lines if _WORDS.search(line)])
        if extractor != MAIN:
            links = links or _link_texts(tree)
            if extractor == RECALL:  # the whole page's text: its menus are no part of it
                lines = [line for line in lines if line not in links] or lines
        found[extractor] = "\n\n".join(lines)
        sizes[extractor] = len(found[extractor])
        if extractor != MAIN:
            sizes[extractor] -= sum(len(line) + 2 for line in lines if line in links)
        if sizes[extractor] >= ENOUGH_TEXT_CHARS:
            break
    extractor = max(sizes, key=lambda name: sizes[name])  # the first of the longest
    if sizes[extractor] < MIN_TEXT_CHARS:
        tried = ", ".join(f"{name} {size}" for name, size in sizes.items())
        raise NoText(f"no article text: every extractor found too little ({tried} characters)")
    if extractor != MAIN:
        logger.debug("%s: body by %s (%s)", url, extractor, {k: len(v) for k, v in found.items()})
    return Body(found[extractor], extractor)
