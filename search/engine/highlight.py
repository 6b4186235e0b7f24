"""Snippets and highlighted titles: document text escaped, query words in <mark>.

Whoosh's fragmenters, scorers and formatters do the choosing; this module feeds them the
words of a text without running the analyzer over every word of every hit (the tokens the
index analyzer makes, from :mod:`search.engine.schema`'s memo of token forms), and reads only
the words near matched ones.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from functools import lru_cache
from itertools import groupby

from whoosh import highlight, query

from search.article import ends_like_sentence
from search.engine import schema

SNIPPET_CHARS = 240
# Between two paragraphs of a one-line snippet when the first does not end like a sentence
# (a sub-heading, a row of a table), so that it does not run into the next one.
PARAGRAPH_SEPARATOR = " \u00b7 "


def one_line(text: str) -> str:
    """``text`` with its paragraph breaks as a one-line snippet reads them: a space after a
    sentence, :data:`PARAGRAPH_SEPARATOR` after anything else ("Wetlands and embankments ·
    Engineers say"). A break at the start of ``text`` follows a word: a separator."""
    paragraphs = text.split("\n\n")
    joined = paragraphs[0]
    for paragraph in paragraphs[1:]:
        ended = bool(joined.strip()) and ends_like_sentence(joined)
        joined += (" " if ended else PARAGRAPH_SEPARATOR) + paragraph
    return joined


class MarkFormatter(highlight.Formatter):
    """Escapes all document text and marks matches with <mark>, the snippet's only markup."""

    between = " … "

    def _text(self, text: str) -> str:
        return html.escape(one_line(text))

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
        return html.escape(one_line(text))
    return html.escape(one_line(text[:chars].rsplit(None, 1)[0])) + " …"


class _Word:
    """A word of a text as Whoosh's fragmenters and formatters read a token: its text, its
    character span, whether the query matched it and its boost. Lighter than Whoosh's Token,
    and one per word, so that copying it is not needed."""

    __slots__ = ("text", "startchar", "endchar", "matched")
    boost = 1.0

    def __init__(self, text: str, startchar: int, endchar: int, matched: bool):
        self.text, self.startchar, self.endchar, self.matched = text, startchar, endchar, matched

    def copy(self) -> _Word:
        return self


def marked_tokens(text: str, terms) -> Iterator[_Word]:
    """The words of ``text`` with their character spans, those of ``terms`` marked.

    One regular-expression pass with the indexer's memo of token forms: the same tokens the
    index analyzer makes, without running its filter chain over every word of every hit.
    """
    for match in schema.TOKEN_PATTERN.finditer(text):
        word = match.group()
        yield _Word(word, match.start(), match.end(), schema.indexed_form(word) in terms)


def _context_fragments(
    text: str, terms, fragmenter: highlight.ContextFragmenter
) -> list[highlight.Fragment]:
    """The fragments ``fragmenter.fragment_tokens`` makes of ``text`` with ``terms`` marked,
    reading only the words near marked ones instead of every word of the text.

    Whoosh's loop, step for step (tests/test_analysis.py compares the two on random texts):
    outside a fragment, unmarked words only keep a queue of the starts of the words within
    ``surround`` characters, so it jumps to the next marked word (:class:`_MarkedWords`) and
    reads back from there for the context before it (:func:`_context_start`); in a fragment,
    it reads on word by word until the fragment closes.
    """
    if not terms:
        return []  # no marked word: no fragment
    maxchars, surround, limit = fragmenter.maxchars, fragmenter.surround, fragmenter.charlimit
    found = _MarkedWords(text, terms, limit)
    fragments: list[highlight.Fragment] = []
    tokens: list[_Word] = []
    countdown, first, length = -1, None, 0
    reset = position = end = 0  # words before `reset` are past the last fragment
    marked = found.next_marked(0)
    while True:
        if countdown >= 0:  # in a fragment: the unmarked words before the next marked one
            for word in schema.TOKEN_PATTERN.finditer(
                text, position, marked.start() if marked else len(text)
            ):
                start, end = word.span()
                if limit and end > limit:
                    break
                size = end - start
                closes = length + size > maxchars
                countdown = -size if closes else countdown - size
                length += size
                if countdown <= 0:
                    break
            else:
                start = None  # read up to the marked word without closing the fragment
            if limit and end > limit:
                break
            if start is not None:  # the fragment closed at this word
                fragments.append(highlight.mkfrag(text, tokens, startchar=first, endchar=end))
                tokens, first, length, reset = [], None, 0, end
                position = end
                continue
            queued = None  # (the queue was emptied when the fragment opened)
        # (Whoosh stops at the first word ending past the limit: before this marked word,
        # outside a fragment, that would change nothing.)
        if marked is None:
            break
        if limit and marked.end() > limit:
            end = marked.end()  # (the end of a fragment left open)
            break
        start, end = marked.span()
        if countdown < 0:
            queued = _context_start(text, reset, start, surround)
        size = end - start
        if length + size > maxchars:
            countdown = 0
        else:
            countdown = surround
            if first is None:
                if queued is not None:
                    first = queued
                else:
                    first = start
                    countdown += surround
            tokens.append(_Word(marked.group(), start, end, True))
        length, countdown = length + size, countdown - size
        if countdown <= 0:
            fragments.append(highlight.mkfrag(text, tokens, startchar=first, endchar=end))
            tokens, first, length, reset = [], None, 0, end
        position = end
        marked = found.next_marked(end)
    if tokens:
        fragments.append(highlight.mkfrag(text, tokens, startchar=first, endchar=end))
    return fragments


# Reading a text from the middle: no word holds whitespace, so the words found from a space on
# are the text's own (as from the end of a word); TOKEN_PATTERN looks neither back nor past the
# characters it takes.


def _context_start(text: str, reset: int, start: int, surround: int) -> int | None:
    """The start of the first word Whoosh's fragmenter queues before the marked word at
    ``start``: the words since ``reset`` that start at most ``surround`` characters before
    the end of the word before it (None when there is none)."""
    back = max(surround, 1)
    while True:
        space = text.rfind(" ", reset, max(reset, start - back) + 1)
        begin = max(space, reset)
        words = [m.span() for m in schema.TOKEN_PATTERN.finditer(text, begin, start)]
        if words:
            edge = words[-1][1] - surround
            if begin <= max(edge, reset):  # read far enough back
                return next((s for s, _ in words if s >= edge), None)
        elif begin == reset:
            return None
        back *= 2


class _MarkedWords:
    """Finds the words of ``text`` whose indexed form is in ``terms`` without tokenising the
    rest: a search of the folded text for the start of each stem (:func:`_word_starts`) finds
    every marked word, and some other places, which the tokeniser then checks. Only words
    that end within ``limit`` characters, if given, are looked for."""

    def __init__(self, text: str, terms, limit: int | None = None):
        self.text, self.terms = text, terms
        head = text[:limit] if limit else text
        folded = _folded(head)
        if folded is None:  # every word is a candidate
            self.folded, self.starts = head, schema.TOKEN_PATTERN
        else:
            self.folded, self.starts = folded, _word_starts(frozenset(terms))

    def next_marked(self, position: int) -> re.Match | None:
        """The first marked word at or after ``position`` (a space, a word's end or 0)."""
        text, folded, starts = self.text, self.folded, self.starts
        while (candidate := starts.search(folded, position)) is not None:
            at = candidate.start()
            word = schema.TOKEN_PATTERN.search(text, max(text.rfind(" ", position, at), position))
            while word is not None and word.end() <= at:
                word = schema.TOKEN_PATTERN.search(text, word.end())
            if word is None:
                return None
            if word.start() == at and schema.indexed_form(word.group()) in self.terms:
                return word
            # On past this word; or, when the candidate was in no word, on to its start (the
            # accent map makes some combining marks letters).
            position = word.end() if word.start() <= at else word.start()
        return None

    def __iter__(self) -> Iterator[_Word]:
        """The marked words, in order."""
        word = self.next_marked(0)
        while word is not None and word.end() <= len(self.folded):
            yield _Word(word.group(), word.start(), word.end(), True)
            word = self.next_marked(word.end())


# schema.fold_text's characters, with the two small sigmas made one (lower() picks one by
# context, word by word or text by text).
_FOLDED_CHARS = {**schema.FOLD_CHARS, ord("\u03c2"): "\u03c3"}
_SIGMAS = str.maketrans("\u03c2", "\u03c3")


def _folded(text: str) -> str | None:
    """``text`` with each character folded as :func:`schema.fold` folds words, but for "İ",
    which lowercases to "i" and a combining dot: to "i" alone (the same length, so positions
    carry over). None if some other character's lowercase is longer."""
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = text.replace("\u0130", "I").lower()
        if len(lowered) != len(text):
            return None
    return lowered if lowered.isascii() else lowered.translate(_FOLDED_CHARS)


@lru_cache(maxsize=256)
def _word_starts(terms: frozenset[str]) -> re.Pattern:
    """Where in a :func:`_folded` text a word whose indexed form is in ``terms`` may start.

    English stemming rewrites only endings: a word starts with all of its stem but the stem's
    last two letters (at least two letters; at most 16 are looked for), checked on 1.2 million
    made-up words and every word of the shared corpora; "dying" -> "die" is the exception.
    """
    heads = set()
    for term in terms:
        # (A folded text has "i" for "İ", where a word's folded form has "i" and a dot.)
        head = term.translate(_SIGMAS)[: min(16, max(2, len(term) - 2))].split("\u0307")[0]
        if head:
            heads |= {head, ".".join(head)}  # "U.S." folds to "us"
            if len(term) == 3 and term.endswith("ie"):
                heads.add(head[0] + "y")  # "dying", "vying" stem to "die", "vie"
    return re.compile(_prefix_tree(sorted(heads)) if heads else "(?!)")


def _prefix_tree(heads: list[str]) -> str:
    """A regular expression matching where any of the (sorted, not empty) ``heads`` starts,
    as a tree of their shared beginnings, which Python's regular expressions search much
    faster than a long alternation (and a head that starts another makes the longer one
    needless)."""
    branches = []
    for first, group in groupby(heads, key=lambda head: head[0]):
        rests = [head[1:] for head in group]
        branches.append(re.escape(first) + ("" if "" in rests else _prefix_tree(rests)))
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


class SnippetFragmenter(highlight.ContextFragmenter):
    """Whoosh's ContextFragmenter, reading only the words near marked ones."""

    def fragment_terms(self, text: str, terms) -> list[highlight.Fragment]:
        """The fragments :meth:`fragment_tokens` makes of ``text`` with the words whose
        indexed form is in ``terms`` marked."""
        return _context_fragments(text, terms, self)


class TitleFragmenter(highlight.WholeFragmenter):
    """Whoosh's WholeFragmenter, finding the marked words without reading the others."""

    def fragment_terms(self, text: str, terms) -> list[highlight.Fragment]:
        """The one fragment :meth:`fragment_tokens` makes of ``text`` with the words whose
        indexed form is in ``terms`` marked."""
        return [highlight.Fragment(text, list(_MarkedWords(text, terms, self.charlimit)))]


def highlight_text(
    text: str,
    terms,
    fragmenter: SnippetFragmenter | TitleFragmenter,
    top: int = 1,
    minscore: int = 1,
) -> str:
    """``text`` escaped, its best fragments chosen and the words of ``terms`` in <mark>."""
    if not terms and minscore:
        return ""
    chosen = highlight.top_fragments(
        fragmenter.fragment_terms(text, terms),
        top,
        highlight.BasicFragmentScorer(),
        highlight.FIRST,
        minscore,
    )
    return MarkFormatter().format(chosen)


def snippet(body: str, terms) -> str:
    """The passages of ``body`` with the most of ``terms`` (indexed words), as HTML; the
    opening of the body when none of them is in it."""
    found = highlight_text(body, terms, SnippetFragmenter(maxchars=SNIPPET_CHARS, surround=90), 2)
    return found or _escaped_start(body)


def title_html(title: str, terms) -> str:
    """The whole title as HTML, the words of ``terms`` (indexed words) marked."""
    return highlight_text(title, terms, TitleFragmenter(), minscore=0) or html.escape(title)


def highlight_terms(parsed: query.Query, reader) -> dict[str, set[str]]:
    """The indexed words of the query by field (wildcards expanded), for highlighting."""
    terms: dict[str, set[str]] = {}
    # Leaf by leaf: Query.existing_terms() skips every field after the first one it meets.
    for leaf in parsed.leaves():
        for fieldname, text in leaf.expanded_terms(reader, phrases=True):
            if fieldname not in schema.SEARCH_FIELDS:
                continue  # `date:now` is a term of encoded ticks, not of words to mark
            word = text.decode("utf-8") if isinstance(text, bytes) else text
            terms.setdefault(fieldname, set()).add(word)
    return terms
