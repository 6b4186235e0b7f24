"""Query in, ranked hits with snippets, facets and suggestions out (no Whoosh types leak)."""

from __future__ import annotations

import html
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from itertools import islice
from pathlib import Path
from typing import Any

from whoosh import fields, highlight, qparser, query, scoring, sorting
from whoosh.qparser.dateparse import DateParserPlugin

from search import schema, settings
from search.article import Article
from search.indexer import Generation, IndexMissing, live_generation, open_generation

logger = logging.getLogger(__name__)

SORTS = ("relevance", "newest")
FACET_SIZE = 10
SNIPPET_CHARS = 240
# A query word found in at most this many documents gets a spelling check; a respelling is
# offered when it is in at least SUGGEST_MIN documents and SUGGEST_RATIO times as many.
RARE_DOC_FREQUENCY = 2
SUGGEST_MIN = 3
SUGGEST_RATIO = 20
# Bonus for documents that match more of the query's words (Whoosh's OrGroup scale).
MATCH_MORE_BONUS = 0.9
# Bounds on what one query may cost (see _bound_query): fuzzy words beyond two edits expand to
# most of the vocabulary, slop beyond this is "anywhere in the text", and a boost of 1e400 would
# make a score of infinity, which is not JSON.
MAX_EDITS = 2
MAX_SLOP = 100
MAX_BOOST = 1000.0


class InvalidRequest(Exception):
    """A search request a person must correct; the message says how."""

    status = 400


@dataclass
class Limits:
    """The bounds a request must keep (see the settings table)."""

    per_page: int = settings.default("PER_PAGE")
    max_per_page: int = settings.default("MAX_PER_PAGE")
    max_depth: int = settings.default("MAX_DEPTH")
    max_query_length: int = settings.default("MAX_QUERY_LENGTH")
    max_expansion: int = settings.default("MAX_EXPANSION")


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

    SINGLE = ("q", "from", "to", "sort", "page", "per_page")
    REPEATABLE = ("topic", "person", "source")

    @classmethod
    def from_params(cls, params: Mapping[str, list[str]], limits: Limits) -> SearchRequest:
        """Build a request from query-string parameters (each name mapped to its values).

        Raises:
            InvalidRequest: an unknown parameter, a repeated single one, or a bad value.
        """
        unknown = sorted(set(params) - set(cls.SINGLE) - set(cls.REPEATABLE))
        if unknown:
            raise InvalidRequest(
                f"unknown parameter {unknown[0]!r}; known parameters are: "
                + ", ".join(cls.SINGLE + cls.REPEATABLE)
            )
        single: dict[str, str] = {}
        for name in cls.SINGLE:
            values = params.get(name, [])
            if len(values) > 1:
                raise InvalidRequest(f"parameter {name!r} may be given only once")
            if values:
                single[name] = values[0]
        q = single.get("q", "").strip()
        if len(q) > limits.max_query_length:
            raise InvalidRequest(
                f"the query is {len(q)} characters long; the limit is {limits.max_query_length}"
            )
        if "\x00" in q:
            raise InvalidRequest("the query contains a NUL character")
        sort = single.get("sort", "relevance") or "relevance"
        if sort not in SORTS:
            raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
        per_page = _integer(single, "per_page", limits.per_page, 1, limits.max_per_page)
        max_page = max(1, limits.max_depth // per_page)
        request = cls(
            q=q,
            topic=_values(params, "topic"),
            person=_values(params, "person"),
            source=_values(params, "source"),
            date_from=_date(single, "from"),
            date_to=_date(single, "to"),
            sort=sort,
            page=_integer(single, "page", 1, 1, max_page),
            per_page=per_page,
        )
        if request.date_from and request.date_to and request.date_from > request.date_to:
            raise InvalidRequest(f"'from' ({request.date_from}) is after 'to' ({request.date_to})")
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
        }

    @property
    def has_filters(self) -> bool:
        """Whether the request narrows the results by anything but the query."""
        return bool(self.topic or self.person or self.source or self.date_from or self.date_to)


def _values(params: Mapping[str, list[str]], name: str) -> list[str]:
    values = [v.strip() for v in params.get(name, []) if v.strip()]
    for value in values:
        if len(value) > 200 or "\x00" in value:
            raise InvalidRequest(f"{name!r} filter value is not a valid {name}")
    return list(dict.fromkeys(values))


def _integer(single: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = single.get(name, "")
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit():
        raise InvalidRequest(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be from {low} to {high}, not {value}")
    return value


def _date(single: dict[str, str], name: str) -> date | None:
    raw = single.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name!r} must be a date written YYYY-MM-DD, not {raw!r}") from None


class MarkFormatter(highlight.Formatter):
    """Escapes all document text and marks matches with <mark>, the snippet's only markup."""

    between = " … "

    def _text(self, text: str) -> str:
        # Paragraph breaks read as spaces in a one-line snippet.
        return html.escape(" ".join(text.split("\n\n")))

    def format_token(self, text, token, replace=False):
        return "<mark>" + self._text(highlight.get_text(text, token, replace)) + "</mark>"

    def format(self, fragments, replace=False):
        if not fragments:
            return ""
        fragments = sorted(fragments, key=lambda f: f.startchar)
        before = "… " if fragments[0].startchar > 0 else ""
        after = " …" if fragments[-1].endchar < len(fragments[-1].text) else ""
        return before + super().format(fragments, replace) + after


def _escaped_start(text: str, chars: int = SNIPPET_CHARS) -> str:
    """The opening of ``text``, cut at a word boundary, escaped."""
    if len(text) <= chars:
        return html.escape(text)
    return html.escape(text[:chars].rsplit(" ", 1)[0]) + " …"


# A word of three letters or more that is not a field name, wildcard or fuzzy term.
_PLAIN_WORD = re.compile(r"(?<![\w:*?~])[^\W\d_]{3,}(?![\w:*?~])")
_UNKNOWN_FIELD = re.compile(r"(?<![\w\"])([A-Za-z_]+):(?=\S)")


def _notices(text: str) -> list[str]:
    """Explain how a query that is not well formed was read."""
    notices = []
    if text.count('"') % 2:
        notices.append("An unmatched quote was ignored: the words were searched without it.")
    if text.count("(") != text.count(")"):
        notices.append("Unbalanced parentheses were ignored.")
    for name in dict.fromkeys(_UNKNOWN_FIELD.findall(text)):
        if name.lower() not in schema.FIELD_ALIASES:
            fields = ", ".join(f"{f}:" for f in schema.FIELD_ALIASES)
            notices.append(f"There is no field {name!r}: searched as words. Fields: {fields}")
    return notices


def _walk(q: query.Query) -> Iterator[query.Query]:
    yield q
    for child in q.children():
        yield from _walk(child)


def _bound_query(q: query.Query, reader, max_expansion: int) -> tuple[query.Query, list[str]]:
    """Cap what ``q`` may cost, whatever was typed; return it with notices of what was capped.

    Fuzzy edits, phrase slop and boosts are clamped; wildcard and fuzzy words together expand
    to at most ``max_expansion`` index words (Whoosh would otherwise OR together every match,
    which for ``a*`` or ``wind~9`` is most of the vocabulary); a bare ``*`` is every article
    (Whoosh would walk every posting of every field to find the same set).
    """
    notices: dict[str, None] = {}
    multi = [s for s in _walk(q) if isinstance(s, query.MultiTerm)]
    share = max(1, max_expansion // len(multi)) if multi else 0

    def bound(sub: query.Query) -> query.Query:
        if getattr(sub, "boost", 1.0) > MAX_BOOST:
            sub.boost = MAX_BOOST
            notices[f"Boosts are capped at {MAX_BOOST:g}."] = None
        if isinstance(sub, query.Every) and sub.fieldname in (schema.TITLE, schema.BODY):
            return query.Every(boost=sub.boost)
        if isinstance(sub, query.Phrase) and sub.slop > MAX_SLOP:
            sub.slop = MAX_SLOP
            notices[f"Phrase distance is capped at ~{MAX_SLOP} words."] = None
        if isinstance(sub, query.FuzzyTerm) and sub.maxdist > MAX_EDITS:
            sub.maxdist = MAX_EDITS
            notices[f"Fuzzy words allow at most {MAX_EDITS} edits: {sub.text}~{MAX_EDITS}."] = None
        if isinstance(sub, query.FuzzyTerm):
            # `oil~2/9`: Whoosh's automaton fails on a fixed prefix longer than the word.
            sub.prefixlength = max(0, min(sub.prefixlength, len(sub.text) - 1))
        if isinstance(sub, query.Term) and sub.fieldname in reader.schema:
            try:
                reader.schema[sub.fieldname].to_bytes(sub.text)
            except Exception as error:  # e.g. date:"" -- Whoosh would raise it mid-search
                raise InvalidRequest(
                    f"could not understand {sub.fieldname}:{sub.text!r} ({error})"
                ) from None
        if isinstance(sub, query.MultiTerm):
            expanded = list(islice(sub.expanded_terms(reader), share + 1))
            if len(expanded) > share:
                if isinstance(sub, query.TermRange):
                    word = f"[{sub.start} to {sub.end}]"
                else:
                    word = sub.text + ("*" if isinstance(sub, query.Prefix) else "")
                    word += "~" if isinstance(sub, query.FuzzyTerm) else ""
                notices[
                    f"{word} matches too many words; only the first {share} were searched "
                    "(make it longer to be more precise)."
                ] = None
                fieldtype = reader.schema[sub.fieldname]
                # Fuzzy terms expand to str, wildcards to bytes.
                terms = [
                    query.Term(name, text if isinstance(text, str) else fieldtype.from_bytes(text))
                    for name, text in expanded[:share]
                ]
                return query.Or(terms, boost=sub.boost)
        return sub

    return q.accept(bound), list(notices)


def _weigh_repeats(q: query.Query) -> query.Query:
    """Make a word given twice count twice (Whoosh would drop the repeat)."""
    if isinstance(q, query.CompoundQuery) and not isinstance(q, query.Not):
        counts = Counter(q.subqueries)
        merged = []
        for sub in dict.fromkeys(q.subqueries):
            if counts[sub] > 1:
                sub = sub.copy()
                sub.boost *= counts[sub]
            merged.append(sub)
        q.subqueries = merged
    return q


class Searcher:
    """Searches the live generation of a data folder; picks up new generations by itself.

    Safe to share between threads: each thread gets its own Whoosh searcher.
    """

    def __init__(self, data_dir: str | Path, limits: Limits | None = None):
        self.data_dir = Path(data_dir)
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._index = None
        self._local = threading.local()

    def _searcher(self):
        """The calling thread's Whoosh searcher over the newest live generation."""
        generation = live_generation(self.data_dir)
        if generation is None:
            raise IndexMissing(f"no index in {self.data_dir}: run `search ingest` first")
        with self._lock:
            if generation != self._generation:
                self._index = open_generation(generation)
                self._generation = generation
            index = self._index
        local = self._local
        current = getattr(local, "searcher", None)
        if current is None or local.generation != generation:
            if current is not None:
                current.close()
            local.searcher = index.searcher(weighting=scoring.BM25F())
            local.generation = generation
        elif not current.up_to_date():
            # refresh() hands the segments it can reuse to the new searcher and closes the rest.
            local.searcher = current.refresh()
        return local.searcher

    def _parser(self, searcher) -> qparser.QueryParser:
        # Only the documented fields may be named: `url:x` or `month:x` are words, as the
        # notices say, rather than searches of internal fields (or errors, for stored-only ones).
        queryable = fields.Schema()
        for name in dict.fromkeys(schema.FIELD_ALIASES.values()):
            queryable.add(name, searcher.schema[name])
        parser = qparser.MultifieldParser(
            list(schema.SEARCH_FIELDS),
            queryable,
            fieldboosts=schema.SEARCH_FIELDS,
            group=qparser.OrGroup.factory(MATCH_MORE_BONUS),
        )
        aliases: dict[str, list[str]] = {}
        for alias, target in schema.FIELD_ALIASES.items():
            if alias != target:
                aliases.setdefault(target, []).append(alias)
        parser.add_plugin(qparser.FieldAliasPlugin(aliases))
        parser.add_plugin(qparser.PlusMinusPlugin())
        parser.add_plugin(qparser.FuzzyTermPlugin())
        parser.add_plugin(DateParserPlugin(free=False))
        return parser

    def parse(self, text: str, searcher=None) -> tuple[query.Query, list[str]]:
        """Parse a query in the documented syntax; return it with notices for the reader.

        Raises:
            InvalidRequest: the query cannot be read at all.
        """
        searcher = searcher or self._searcher()
        if not text:
            return query.Every(), []
        try:
            parsed = self._parser(searcher).parse(text, normalize=False)
            parsed = _weigh_repeats(parsed).normalize()
        except Exception as error:  # Whoosh's parser raises many kinds; all mean a bad query.
            logger.debug("unparseable query %r: %s", text, error)
            raise InvalidRequest(
                f"could not understand the query ({error}); check its AND, OR, NOT and brackets"
            ) from None
        parsed, bounded = _bound_query(parsed, searcher.reader(), self.limits.max_expansion)
        return parsed, _notices(text) + bounded

    def search(self, request: SearchRequest) -> dict[str, Any]:
        """Run ``request``; return the JSON-ready response of the search contract."""
        started = time.perf_counter()
        searcher = self._searcher()
        parsed, notices = self.parse(request.q, searcher)
        end = request.page * request.per_page
        newest = request.sort == "newest" or not request.q
        facets = {
            name: sorting.FieldFacet(
                fieldname,
                allow_overlap=fieldname in (schema.TOPIC, schema.PERSON),
                maptype=sorting.Count,
            )
            for name, fieldname in schema.FACET_FIELDS.items()
        }
        results = searcher.search(
            parsed,
            limit=end,
            filter=_filter_query(request),
            sortedby=schema.PUBLISHED if newest else None,
            reverse=newest,
            groupedby=facets,
            terms=True,
        )
        results.fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=90)
        results.formatter = MarkFormatter()
        title_highlighter = highlight.Highlighter(
            fragmenter=highlight.WholeFragmenter(), formatter=MarkFormatter()
        )
        hits = []
        for hit in list(results)[end - request.per_page : end]:
            stored = hit.fields()
            article = schema.stored_article(stored)
            snippet = hit.highlights(schema.BODY, top=2) or _escaped_start(article.body)
            title = title_highlighter.highlight_hit(hit, schema.TITLE, top=1, minscore=0)
            hits.append(
                {
                    **_summary(article),
                    "score": round(hit.score, 4) if hit.score is not None else None,
                    "title_html": title or html.escape(article.title),
                    "snippet": snippet,
                }
            )
        total = len(results)
        response = {
            "request": request.to_params(),
            "total": total,
            "results": hits,
            "facets": {name: _top_counts(results.groups(name)) for name in schema.FACET_FIELDS},
            "suggestion": self._suggest(request, searcher, total) if request.q else None,
            "notices": notices,
            "generation": self._generation.name if self._generation else None,
        }
        response["took_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return response

    def _suggest(self, request: SearchRequest, searcher, total: int) -> str | None:
        """A respelling of the query when its words are rare and a near spelling finds more."""
        reader = searcher.reader()
        analyzer = searcher.schema[schema.BODY].analyzer
        corrector = reader.corrector(schema.SPELLING)
        corrected = request.q
        for match in reversed(list(_PLAIN_WORD.finditer(request.q))):
            word = match.group(0)
            stems = [t.text for t in analyzer(word)]
            if not stems:
                continue
            rarity = reader.doc_frequency(schema.BODY, stems[0])
            if rarity > RARE_DOC_FREQUENCY:
                continue
            best, best_frequency = None, 0
            for candidate in corrector.suggest(word.lower(), limit=5, maxdist=2, prefix=1):
                candidate_stems = [t.text for t in analyzer(candidate)]
                if not candidate_stems:
                    continue
                frequency = reader.doc_frequency(schema.BODY, candidate_stems[0])
                if frequency > best_frequency:
                    best, best_frequency = candidate, frequency
            if best and best_frequency >= max(SUGGEST_MIN, SUGGEST_RATIO * rarity):
                corrected = corrected[: match.start()] + best + corrected[match.end() :]
        if corrected == request.q:
            return None
        try:
            parsed, _ = self.parse(corrected, searcher)
        except InvalidRequest:
            return None
        found = len(searcher.search(parsed, limit=1, filter=_filter_query(request)))
        return corrected if found >= max(2 * total, total + 3) else None

    def article(self, article_id: str) -> Article | None:
        """Return the indexed article with this id, or None."""
        stored = self._searcher().document(**{schema.ID: article_id})
        return schema.stored_article(stored) if stored else None

    def health(self) -> dict[str, Any]:
        """Return the live generation, its document count and its age."""
        searcher = self._searcher()
        generation = self._generation
        modified = max(
            (p.stat().st_mtime for p in generation.path.iterdir() if p.suffix == ".toc"),
            default=generation.path.stat().st_mtime,
        )
        return {
            "status": "ok",
            "generation": generation.name,
            "documents": searcher.doc_count(),
            "index_age_seconds": round(time.time() - modified, 1),
        }


def _filter_query(request: SearchRequest) -> query.Query | None:
    parts: list[query.Query] = []
    for name, fieldname in schema.FILTER_FIELDS.items():
        parts += [query.Term(fieldname, value) for value in getattr(request, name)]
    if request.date_from or request.date_to:
        start = datetime.combine(request.date_from, dtime.min) if request.date_from else None
        end = datetime.combine(request.date_to, dtime.max) if request.date_to else None
        parts.append(query.DateRange(schema.PUBLISHED, start, end))
    return query.And(parts) if parts else None


def _top_counts(groups: dict[Any, int]) -> list[dict[str, Any]]:
    counts = [(key, count) for key, count in groups.items() if key not in (None, "", b"")]
    counts.sort(key=lambda item: (-item[1], str(item[0])))
    return [
        {"value": key.decode() if isinstance(key, bytes) else str(key), "count": count}
        for key, count in counts[:FACET_SIZE]
    ]


def _summary(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "url": article.url,
        "title": article.title,
        "published": article.published.astimezone(UTC).isoformat() if article.published else None,
        "source": article.source,
        "topics": article.topics,
        "people": article.people,
    }
