"""The query language: the documented syntax read into a Whoosh query, with bounds on what
one query may cost and notices that say how a query that is not well formed was read."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from datetime import time as dtime
from itertools import islice

from whoosh import fields, qparser, query
from whoosh.qparser import syntax
from whoosh.qparser.dateparse import DateParserPlugin

from search.engine import schema
from search.errors import BAD_QUERY, InvalidRequest
from search.names import PEOPLE, TOPICS, NameTable
from search.request import SearchRequest

logger = logging.getLogger(__name__)

# Bounds on what one query may cost (see _bound_query): fuzzy words beyond two edits expand to
# most of the vocabulary, slop beyond this is "anywhere in the text", and a boost of 1e400 would
# make a score of infinity, which is not JSON.
MAX_EDITS = 2
MAX_SLOP = 100
MAX_BOOST = 1000.0

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


_FIELD_PREFIX = re.compile(r"\w+:")


def _only_common_words(text: str) -> bool:
    """Whether the words of a query, apart from operators and field names, are all stop words."""
    words = schema.TOKEN_PATTERN.findall(_FIELD_PREFIX.sub(" ", text))
    words = [word for word in words if word not in _OPERATORS]
    return bool(words) and all(schema.indexed_form(word) is None for word in words)


# A "?" is a one-letter wildcard only inside a word ("te?t"); elsewhere it ends a question.
_QUESTION_MARK = re.compile(r"(?<![\w*?])\?+|\?+(?![\w*?])")


# A query of plain words: letters and digits between spaces, none of them an operator.
_PLAIN_QUERY = re.compile(r" *[A-Za-z0-9]+(?: +[A-Za-z0-9]+)* *")
_OPERATORS = frozenset({"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE", "REQUIRE", "TO"})


def plain_words(parser: qparser.QueryParser, text: str) -> query.Query | None:
    """What ``parser.parse(text, normalize=False)`` makes of a query of plain words, built
    without the parser's tagging and filtering, which take half a millisecond (a search's
    most common query, and tests/test_query_features.py checks the two agree); None for any other
    query. Each word is an OR of the word in each searched field, with the field's boost."""
    words = text.split(" ")
    if not _PLAIN_QUERY.fullmatch(text) or not _OPERATORS.isdisjoint(words):
        return None
    return query.Or(
        [
            query.Or(
                [
                    term
                    for field in schema.SEARCH_FIELDS
                    if (term := parser.term_query(field, word, parser.termclass)) is not None
                ]
            )
            for word in words
            if word
        ]
    )


# A date clause: `date:` (or `published:`) and its value, a bracketed range or one word.
_DATE_CLAUSE = re.compile(r"\b(?:date|published):(?:\[[^\]]*\]|\{[^}]*\}|\S+)")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})(?:-(\d{2}))?\b")


def _iso_dates(text: str) -> str:
    """Write the ISO dates of date clauses (2025-01, 2025-01-31) as Whoosh's date parser
    reads them (202501, 20250131): it reads 2025-01 as the whole of 2025."""
    return _DATE_CLAUSE.sub(
        lambda clause: _ISO_DATE.sub(lambda d: "".join(filter(None, d.groups())), clause[0]),
        text,
    )


def _question_marks(text: str) -> str:
    """Read a question mark that ends a word or stands alone as punctuation, not a wildcard."""
    return _QUESTION_MARK.sub(" ", text)


def _clause_fields(node: syntax.SyntaxNode) -> set[str | None]:
    """The fields a part of a parsed query names (None for a part that names none)."""
    if isinstance(node, syntax.GroupNode):
        return set().union(*(_clause_fields(child) for child in node.nodes))
    return {node.fieldname} if node.has_fieldname else {None}


def _field_clauses(group: syntax.SyntaxNode) -> tuple[list, list]:
    """The field clauses among the optional parts of an implicit group, and its other parts
    (everything is "other" in any other kind of group)."""
    if type(group) is not syntax.OrGroup:
        return [], [group]
    clauses = [
        node
        for node in group.nodes
        if not isinstance(node, syntax.NotGroup)
        and len(fields := _clause_fields(node)) == 1
        and None not in fields
    ]
    return clauses, [node for node in group.nodes if node not in clauses]


def _restrictions(tree: syntax.GroupNode) -> syntax.GroupNode:
    """Make each field clause among a query's words a restriction: ``source:reuters gold`` is
    Reuters' stories about gold, ``energy date:2026`` the energy stories of 2026. (The parser
    makes it one more optional word.) A clause joined by an explicit OR stays optional, and so
    does one inside brackets."""
    if isinstance(tree, syntax.AndNotGroup | syntax.RequireGroup):
        tree.nodes[0] = _restrictions(tree.nodes[0])  # (the words - and + qualify)
        return tree
    if isinstance(tree, syntax.AndMaybeGroup):  # (+required words, then the optional ones)
        required, optional = tree.nodes
    else:
        required, optional = None, tree
    clauses, words = _field_clauses(optional)
    if not clauses:
        return tree
    must = syntax.AndGroup(clauses + ([required] if required is not None else []))
    if required is not None:
        return syntax.AndMaybeGroup([must, syntax.OrGroup(words)]) if words else must
    return syntax.AndGroup(clauses + [syntax.OrGroup(words)]) if words else must


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
                    f"could not understand {sub.fieldname}:{sub.text!r} ({error})", "q", BAD_QUERY
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


def _fieldless(q: query.Query) -> bool:
    """Whether ``q`` is a word the parser left without a field (Whoosh's date parser hands on
    text it cannot read as a date so: ``date:"^99``); no field holds it, so it matches nothing."""
    return isinstance(q, query.Term | query.Phrase) and q.fieldname is None


def _weigh_repeats(q: query.Query) -> query.Query:
    """Make a word given more than once in a group count as many times (Whoosh would drop the
    repeats; BM25 weighs a word by its count in the query): one part with the group's boosts
    of it added up."""
    if not isinstance(q, query.CompoundQuery) or isinstance(q, query.Not):
        return q
    parts: dict[query.Query, float] = {}  # a part at boost 1 -> its boosts as typed, added up
    for sub in q.subqueries:
        sub = _weigh_repeats(sub)
        boost, sub.boost = sub.boost, 1.0
        parts[sub] = parts.get(sub, 0.0) + boost
    q.subqueries = list(parts)
    for part, boost in parts.items():  # (the keys' hashes change: the dict is done with)
        part.boost = boost
    return q


def _exclusions(q: query.Query) -> query.Query:
    """Read ``NOT x`` among words as ``-x`` does: the words, without what has x. (Whoosh's
    parser makes it one more optional part of the OR, which matches every article without x.)
    A query of exclusions alone still lists everything else."""
    if isinstance(q, query.BinaryQuery):
        q.a, q.b = _exclusions(q.a), _exclusions(q.b)
        return q
    if not isinstance(q, query.CompoundQuery) or isinstance(q, query.Not):
        return q
    q.subqueries = [_exclusions(sub) for sub in q.subqueries]
    excluded = [sub.query for sub in q.subqueries if isinstance(sub, query.Not)]
    kept = [sub for sub in q.subqueries if not isinstance(sub, query.Not)]
    if type(q) is not query.Or or not excluded or not kept:
        return q
    return query.AndNot(query.Or(kept, boost=q.boost), query.Or(excluded))


# Filters whose values have canonical forms (search.names): filter name -> kind of name.
_CANONICAL_KINDS = {"person": PEOPLE, "topic": TOPICS}


def filter_query(
    request: SearchRequest, names: Callable[[], NameTable | None] | None = None
) -> query.Query | None:
    """The request's filters as a query (None without any). A person or topic is looked for
    by its canonical value in the table ``names()`` gives, so any spelling of it filters the
    same (the table is asked for only when the request has such a filter)."""
    parts: list[query.Query] = []
    for name, fieldname in schema.FILTER_FIELDS.items():
        values = getattr(request, name)
        table = names() if values and names and name in _CANONICAL_KINDS else None
        if table is not None:
            values = [table.lookup(_CANONICAL_KINDS[name], value) for value in values]
        parts += [query.Term(fieldname, value) for value in values]
    if request.date_from or request.date_to:
        start = datetime.combine(request.date_from, dtime.min) if request.date_from else None
        end = datetime.combine(request.date_to, dtime.max) if request.date_to else None
        parts.append(query.DateRange(schema.PUBLISHED, start, end))
    if request.story is not None:
        parts.append(query.Term(schema.STORY, request.story))
    return query.And(parts) if parts else None


class _Bracket(syntax.GroupNode):
    """The words in a pair of brackets: an OR, as the parser's own group, but one that an
    OR operator beside it does not merge into (it merges into a group of its own kind, which
    turned ``(a NOT b) OR c`` into ``(a OR c) NOT b``)."""

    qclass = query.Or


class _BracketPlugin(qparser.GroupPlugin):
    """Brackets make :class:`_Bracket` groups: when Whoosh's filter has made the hierarchy,
    every group below the top one is a pair of brackets."""

    def do_groups(self, parser, group):
        top = super().do_groups(parser, group)
        top.nodes = [_brackets(node) for node in top.nodes]
        return top


def _brackets(node: syntax.SyntaxNode) -> syntax.SyntaxNode:
    if not isinstance(node, syntax.GroupNode):
        return node
    return _Bracket([_brackets(child) for child in node.nodes], boost=node.boost)


class _PlusMinusPlugin(qparser.PlusMinusPlugin):
    """+ and - inside brackets too (Whoosh's plugin reads them in the outermost group only
    and left ``(energy -oil) OR gas`` unreadable)."""

    def do_plusminus(self, parser, group):
        for i, node in enumerate(group.nodes):
            if isinstance(node, syntax.GroupNode):
                group.nodes[i] = self.do_plusminus(parser, node)
        markers = (self.Plus, self.Minus)
        if not any(isinstance(node, markers) for node in group.nodes):
            return group
        found = super().do_plusminus(parser, group)
        if isinstance(found, syntax.AndNotGroup) and not found.nodes[0].nodes:
            # Exclusions alone (-oil, or (-oil) among words) mean what NOT oil means.
            return syntax.NotGroup([found.nodes[1]])
        return found


def make_parser(index_schema: fields.Schema) -> qparser.QueryParser:
    """The parser of the documented syntax over an index of ``index_schema``."""
    # Only the documented fields may be named: `url:x` or `month:x` are words, as the
    # notices say, rather than searches of internal fields (or errors, for stored-only ones).
    queryable = fields.Schema()
    for name in dict.fromkeys(schema.FIELD_ALIASES.values()):
        queryable.add(name, index_schema[name])
    parser = qparser.MultifieldParser(
        list(schema.SEARCH_FIELDS),
        queryable,
        # Any word may match; BM25 adds up the words a document has, so documents with
        # more of them rank higher. (Whoosh's OrGroup "scale" bonus is lost when the query
        # is normalised, so none is asked for.)
        group=qparser.OrGroup,
    )
    aliases: dict[str, list[str]] = {}
    for alias, target in schema.FIELD_ALIASES.items():
        if alias != target:
            aliases.setdefault(target, []).append(alias)
    parser.add_plugin(qparser.FieldAliasPlugin(aliases))
    parser.remove_plugin_class(qparser.GroupPlugin)
    parser.add_plugin(_BracketPlugin())
    # + and - mark a word only at its start: "real-gas" and "Coca-Cola" are not exclusions,
    # and a dash standing alone ("pitot tubes - calibration") is punctuation.
    parser.add_plugin(_PlusMinusPlugin(r"(?<![^\s(])\+(?=\S)", r"(?<![^\s(])-(?=\S)"))
    parser.add_plugin(qparser.FuzzyTermPlugin())
    parser.add_plugin(DateParserPlugin(free=False))
    return parser


def parse(
    parser: qparser.QueryParser, text: str, reader, max_expansion: int
) -> tuple[query.Query, list[str]]:
    """Parse a query in the documented syntax, bounded for the index of ``reader``; return
    it with notices for the reader.

    Raises:
        InvalidRequest: the query cannot be read at all.
    """
    if not text:
        return query.Every(), []
    notices = _notices(text)
    try:
        parsed = plain_words(parser, text)
        if parsed is None:
            tree = _restrictions(parser.process(_iso_dates(_question_marks(text))))
            parsed = tree.query(parser) or query.NullQuery
    except Exception as error:  # Whoosh's parser raises many kinds; all mean a bad query.
        logger.debug("unparseable query %r: %s", text, error)
        raise InvalidRequest(
            f"could not understand the query ({error}); check its AND, OR, NOT and brackets",
            "q",
            BAD_QUERY,
        ) from None
    if any(_fieldless(leaf) for leaf in parsed.leaves()):
        # (only then: Whoosh's copy of a tree drops an Or's minmatch and scale)
        parsed = parsed.accept(lambda q: query.NullQuery if _fieldless(q) else q)
    parsed = _exclusions(_weigh_repeats(parsed)).normalize()
    if parsed is query.NullQuery and _only_common_words(text):
        notices.append(
            "Every word of the query is too common to search (such as “the”, “what” or "
            "“about”): add a word that says what you are looking for."
        )
    parsed, bounded = _bound_query(parsed, reader, max_expansion)
    return parsed, notices + bounded
