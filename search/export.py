"""Exports: every match of a search as CSV or JSON Lines, written a batch of rows at a time
(for /api/export and `search export`)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from search.errors import InvalidRequest
from search.request import Limits, SearchRequest, refuse_unknown

FORMATS = ("csv", "jsonl")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
# The columns of a CSV export, in the order of the JSON results' fields; "snippet" is added
# when snippets are asked for.
COLUMNS = ("id", "url", "title", "published", "source", "topics", "people", "score", "story")
COLUMNS += ("versions",)
# Between the values of a list (topics, people) in a CSV cell. JSON Lines keeps real lists.
LIST_SEPARATOR = " | "
# What an export takes: a search's query, filters and order (it has no pages), then its own.
SEARCH_PARAMS = ("q", "topic", "person", "source", "from", "to", "sort", "recency", "collapse")
SEARCH_PARAMS += ("story",)
PARAMS = SEARCH_PARAMS + ("format", "snippets")


def parse_params(
    params: Mapping[str, list[str]], limits: Limits
) -> tuple[SearchRequest, str, bool]:
    """The search, the format and whether to add snippets, from an export's parameters.

    Raises:
        InvalidRequest: an unknown parameter, a repeated one, or a bad value.
    """
    refuse_unknown(params, PARAMS)
    own = {}
    for name, default in (("format", "csv"), ("snippets", "0")):
        values = params.get(name, [])
        if len(values) > 1:
            raise InvalidRequest(f"parameter {name!r} may be given only once", name)
        own[name] = (values[0] if values else default).strip().lower() or default
    if own["format"] not in FORMATS:
        raise InvalidRequest(
            f"format must be one of {', '.join(FORMATS)}, not {own['format']!r}", "format"
        )
    if own["snippets"] not in ("0", "1", "true", "false"):
        raise InvalidRequest(f"snippets must be 1 or 0, not {own['snippets']!r}", "snippets")
    search = {name: values for name, values in params.items() if name in SEARCH_PARAMS}
    request = SearchRequest.from_params(search, limits)
    return request, own["format"], own["snippets"] in ("1", "true")


def encode(batches: Iterable[list[dict[str, Any]]], form: str, snippets: bool) -> Iterator[bytes]:
    """The rows of an export (batches of rows as dicts) as UTF-8 bytes, a batch at a time.

    CSV (RFC 4180, by the csv module): a header row, then a row per result; lists joined by
    LIST_SEPARATOR, nulls empty. JSON Lines: one JSON object per result, as the JSON results
    give it.
    """
    if form == "jsonl":
        for batch in batches:
            yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in batch).encode()
        return
    columns = COLUMNS + (("snippet",) if snippets else ())
    yield _csv_lines([columns])
    for batch in batches:
        yield _csv_lines([_cell(row.get(name)) for name in columns] for row in batch)


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's "CSV
# injection"): an article's title could. Such text is written after a single quote, which a
# spreadsheet shows as text; JSON Lines keeps every value as it is.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def filename(request: SearchRequest, form: str) -> str:
    """A name for the export's file: ``search-`` and the query's words (ASCII letters and
    digits, at most 40 characters), or ``search-all``."""
    words = re.sub(r"[^a-z0-9]+", "-", request.q.lower()).strip("-")[:40].strip("-")
    return f"search-{words or 'all'}.{form}"
