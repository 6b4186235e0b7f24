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


@dataclass
class Document:
    """One thing to clean, with where it came from (a path, maybe with a line or story number)."""

    kind: str
    origin: str
    content: Any  # bytes (html), str (text, reuters) or a parsed JSON value (jsonl)
    path: Path


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


def read_file(path: Path) -> Iterator[Document | Skipped]:
    """Yield a Document for each article in a supported file; an unreadable file is Skipped."""
    kind = KIND_BY_SUFFIX[path.suffix.lower()]
    try:
        raw = path.read_bytes()
    except OSError as error:
        yield Skipped(str(path), f"cannot read: {error.strerror or error}")
        return
    if kind == HTML:
        yield Document(kind, str(path), raw, path)
    elif kind == TEXT:
        yield Document(kind, str(path), _decode(raw), path)
    elif kind == REUTERS:
        # Decoded story by story: one file of the collection mixes UTF-8 with Latin-1 bytes.
        for number, story in enumerate(_STORY.findall(raw), 1):
            yield Document(kind, f"{path}#story{number}", _decode(story), path)
    else:
        yield from _json_lines(raw, path)


def _json_lines(raw: bytes, path: Path) -> Iterator[Document | Skipped]:
    for number, line in enumerate(_decode(raw).splitlines(), 1):
        if not line.strip():
            continue
        origin = f"{path}:{number}"
        try:
            yield Document(JSONL, origin, json.loads(line), path)
        except ValueError as error:
            yield Skipped(origin, f"invalid JSON: {error}")
