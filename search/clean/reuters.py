"""Reuters-21578 story (one <REUTERS> element of the SGML) -> Article."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from search.article import Article, NoText, normalize_line

SOURCE = "reuters"

_NEWID = re.compile(r'<REUTERS[^>]*\bNEWID="(\d+)"')
_DATE = re.compile(r"(\d{1,2}-[A-Z]{3}-\d{4}) (\d{1,2}:\d{2}:\d{2})")
# The newswire's sign-off closes most bodies: "Reuter" (or "REUTER", "reuter"), on a line of
# its own or after the last sentence or figure (sometimes twice), with a keying mark ("...", "^M", a
# time), then the end-of-text control character (raw or as an entity).
_SIGN_OFF = re.compile(
    r"(?:(?:^|\n|(?<=[\d.!?\")]) )[ \t]*reuters?(?:\.\.\.|\^M|[\d:/]+[A-Z]*)*\s*)+"
    r"(?:&#3;|\x03)?\s*$",
    re.IGNORECASE,
)
# An UNPROC story's headline: its first line, and the lines after it that are in capitals too
# (the wire wraps long headlines); the body's first paragraph is indented or in mixed case, and
# a table's rows line up their columns with runs of spaces.
_HEADLINE_MAX_LINES = 3
# (A capital somewhere, looked for ahead: with "[A-Z]" between two runs that can both hold
# it, a long line that fails to match took quadratic time.)
_HEADLINE_LINE = re.compile(r"(?=[^A-Z]*[A-Z])(?:[^a-z ]| (?! ))*")
_EXTRA_LISTS = {"places": "PLACES", "orgs": "ORGS", "exchanges": "EXCHANGES"}


def _element(story: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}\b[^>]*>(.*?)</{tag}>", story, re.S)
    return match.group(1) if match else None


def _list(story: str, tag: str) -> list[str]:
    return re.findall(r"<D>(.*?)</D>", _element(story, tag) or "", re.S)


def person_name(reuters_id: str) -> str:
    """Turn a Reuters PEOPLE id into a readable name: "james-baker" -> "James Baker"."""
    return " ".join(part.capitalize() for part in reuters_id.replace("-", " ").split())


def _paragraphs(text: str) -> str:
    """Reuters wraps lines at 70 columns and indents each new paragraph: rejoin them."""
    text = _SIGN_OFF.sub("", text)
    return re.sub(r"\n(?=[ \t]+\S)", "\n\n", text)


def _unprocessed(text: str) -> tuple[str, str]:
    """The headline and body of an UNPROC story's plain text.

    The headline is the first non-empty line and up to two capitalised, unindented lines that
    follow it: "VOLCKER REAFFIRMS G" / "-6 NEGOTIATING PROCESS" is one headline, rejoined
    without a space where the wire broke it at a hyphen.
    """
    lines = [line for line in re.sub(r"&#\d+;", "", text).split("\n") if line.strip()]
    if not lines:
        return "", ""
    head = 1
    while (
        head < min(len(lines), _HEADLINE_MAX_LINES)
        and not lines[head][0].isspace()
        and _HEADLINE_LINE.fullmatch(lines[head].strip())
    ):
        head += 1
    title = lines[0].rstrip()
    for line in lines[1:head]:
        line = line.strip()
        title += line if line.startswith("-") or title.endswith("-") else " " + line
    return title, "\n".join(lines[head:])


def clean_reuters(story: str) -> Article:
    """Return the Article of one Reuters-21578 story (raw SGML text of its element).

    Stories of TYPE="BRIEF" have only a title; TYPE="UNPROC" stories have no markup inside
    <TEXT>, so their headline is read from the first lines (:func:`_unprocessed`).

    Raises:
        ValueError: the story has no NEWID or no text at all.
    """
    newid = _NEWID.search(story)
    if not newid:
        raise ValueError("story without a NEWID")
    text = _element(story, "TEXT") or ""
    title = _element(text, "TITLE")
    body = _element(text, "BODY")
    if title is None and body is None:
        title, body = _unprocessed(text)
    title = normalize_line(title or "")
    if not title and not body:
        raise NoText("story has no text")
    published = None
    if date := _DATE.search(_element(story, "DATE") or ""):
        stamp = datetime.strptime(" ".join(date.groups()).title(), "%d-%b-%Y %H:%M:%S")
        published = stamp.replace(tzinfo=UTC)
    extra = {key: _list(story, tag) for key, tag in _EXTRA_LISTS.items() if _list(story, tag)}
    dateline = normalize_line(_element(text, "DATELINE") or "").rstrip(" -")
    if dateline:
        extra["dateline"] = dateline
    return Article(
        id=f"reuters-{newid.group(1)}",
        url="",
        title=title,
        body=_paragraphs(body or ""),
        topics=_list(story, "TOPICS"),
        people=[person_name(p) for p in _list(story, "PEOPLE")],
        published=published,
        source=SOURCE,
        extra=extra,
    )
