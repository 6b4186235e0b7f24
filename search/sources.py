"""Local files read into documents for the cleaner: one per page, text, Reuters story or line."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

HTML, TEXT, REUTERS, JSONL = "html", "text", "reuters", "jsonl"
KIND_BY_SUFFIX = {".html": HTML, ".htm": HTML, ".txt": TEXT, ".sgm": REUTERS, ".jsonl": JSONL}

_STORY = re.compile(rb"<REUTERS\b.*?</REUTERS>", re.S)
_STORY_START = re.compile(rb"<REUTERS\b")
# Bytes that text hardly ever holds: the C0 control characters but whitespace (tab, line feed,
# vertical tab, form feed, carriage return) and escape (a terminal's colour codes), and DEL.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")
_CONTROL_SHARE = 0.01  # more than this share of control bytes: binary, not text
_SAMPLE = 1 << 16
_UTF16_32_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-16 (and UTF-32 LE) text has NUL bytes


@dataclass
class Document:
    """One thing to clean, with where it came from (a path, maybe with a line or story number)."""

    kind: str
    origin: str
    content: Any  # bytes (html), str (text, reuters) or a parsed JSON value (jsonl)
    path: Path
    end: int = 0  # bytes of the file read up to the end of this document (for progress)


@dataclass
class Skipped:
    """An input that could not be read, and why."""

    origin: str
    reason: str
    failed: bool = True  # False when the input was fine but held no article text


def find_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Skipped]]:
    """Return the supported files among ``paths`` (folders searched recursively) and the misses.

    A file named explicitly with an unsupported type is a miss; inside a folder, files of other
    types (a README, images) are passed over quietly.
    """
    files: list[Path] = []
    missed: list[Skipped] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(
                p
                for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in KIND_BY_SUFFIX and not p.name.startswith(".")
            )
        elif not path.is_file():
            missed.append(Skipped(str(path), "no such file or folder"))
        elif path.suffix.lower() not in KIND_BY_SUFFIX:
            supported = ", ".join(sorted(KIND_BY_SUFFIX))
            missed.append(Skipped(str(path), f"unsupported file type (supported: {supported})"))
        else:
            files.append(path)
    return files, missed


def _decode(raw: bytes) -> str:
    """UTF-8 where it is valid; otherwise Latin-1, which every byte sequence is."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def not_text(raw: bytes) -> str | None:
    """Why ``raw`` is binary data rather than text (in any 8-bit encoding or UTF-8), or None.

    Text in UTF-8 or an 8-bit encoding (Latin-1, Windows-1252) holds no NUL byte and almost no
    other control character; binary data (images, archives, random bytes) is full of them. The
    first 64 KB are looked at; a file that begins with a UTF-16 byte-order mark is text.
    """
    sample = raw[:_SAMPLE]
    if not sample or sample.startswith(_UTF16_32_BOMS):
        return None
    if b"\x00" in sample:
        return "binary data, not text (it holds NUL bytes)"
    controls = len(_CONTROL.findall(sample))
    if controls > _CONTROL_SHARE * len(sample):
        return f"binary data, not text ({controls / len(sample):.0%} control bytes)"
    return None


def read_file(path: Path) -> Iterator[Document | Skipped]:
    """Yield a Document for each article in a supported file; a file that cannot be read, is
    not text, or (a Reuters .sgm) holds no whole story is Skipped with the reason."""
    kind = KIND_BY_SUFFIX[path.suffix.lower()]
    try:
        raw = path.read_bytes()
    except OSError as error:
        yield Skipped(str(path), f"cannot read: {error.strerror or error}")
        return
    if reason := not_text(raw):
        yield Skipped(str(path), reason, failed=False)
    elif kind == HTML:
        yield Document(kind, str(path), raw, path, len(raw))
    elif kind == TEXT:
        yield Document(kind, str(path), _decode_text(raw), path, len(raw))
    elif kind == REUTERS:
        yield from _reuters_stories(raw, path)
    else:
        yield from _json_lines(raw, path)


def _decode_text(raw: bytes) -> str:
    """A text file's text: as its byte-order mark says, else UTF-8 or Latin-1 (:func:`_decode`)."""
    if raw.startswith(_UTF16_32_BOMS):
        return raw.decode("utf-16", errors="replace")
    return _decode(raw.removeprefix(b"\xef\xbb\xbf"))


def _reuters_stories(raw: bytes, path: Path) -> Iterator[Document | Skipped]:
    """The stories of a Reuters-21578 SGML file; a file with none, or an unclosed one, fails."""
    stories = list(_STORY.finditer(raw))
    # Decoded story by story: one file of the collection mixes UTF-8 with Latin-1 bytes.
    for number, story in enumerate(stories, 1):
        yield Document(REUTERS, f"{path}#story{number}", _decode(story.group()), path, story.end())
    opened = len(_STORY_START.findall(raw))
    if opened > len(stories):
        yield Skipped(
            str(path), f"malformed Reuters SGML: {opened - len(stories)} <REUTERS> without an end"
        )
    elif not stories and raw.strip():
        yield Skipped(str(path), "not Reuters-21578 SGML: no <REUTERS> story in it")
    elif not stories:
        yield Skipped(str(path), "empty file", failed=False)


def _json_lines(raw: bytes, path: Path) -> Iterator[Document | Skipped]:
    end = 0
    for number, line_bytes in enumerate(raw.splitlines(keepends=True), 1):
        end += len(line_bytes)
        line = _decode(line_bytes)
        if not line.strip():
            continue
        origin = f"{path}:{number}"
        try:
            yield Document(JSONL, origin, json.loads(line), path, end)
        except ValueError as error:
            yield Skipped(origin, f"invalid JSON: {error}")
