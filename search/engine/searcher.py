"""The engine's facade: a search request in, a typed response out (no Whoosh types leak).

A :class:`Searcher` follows the live generation of a data folder. Each thread reads through
its own :class:`IndexView` (a Whoosh searcher and parser); the document sets, word scores and
respellings of an index version are shared by the process's threads (search.engine.docsets,
search.engine.spelling). Queries are read by search.engine.query, ranked by
search.engine.scoring and highlighted by search.engine.highlight.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import weakref
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh import query

from search.article import Article
from search.cursor import Cursor, fingerprint
from search.engine import collapse, export, highlight, order, schema, scoring, spelling, suggest
from search.engine import query as query_language
from search.engine.docsets import DocSets
from search.engine.results import ArticleSummary, Hit, SearchResponse
from search.engine.spelling import Speller
from search.engine.view import IndexView
from search.errors import IndexMissing, InvalidRequest
from search.generations import Generation, live_generation
from search.names import TableLoader
from search.request import Limits, SearchRequest

logger = logging.getLogger(__name__)


def _close_all(searchers: dict[int, Any]) -> None:
    """Close the Whoosh searchers in ``searchers`` and forget them."""
    for searcher in searchers.values():
        searcher.close()
    searchers.clear()


class Searcher:
    """Searches the live generation of a data folder; picks up new generations by itself.

    Safe to share between threads: each thread gets its own Whoosh searcher.
    """

    def __init__(
        self,
        data_dir: str | Path,
        limits: Limits | None = None,
        ranking: scoring.Ranking | None = None,
    ):
        self.data_dir = Path(data_dir)
        self.limits = limits or Limits()
        self.ranking = ranking or scoring.Ranking()
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._index = None
        self._local = threading.local()
        self._vocabulary = None  # (its DocSets, suggest.Vocabulary) of the autocomplete
        self._open: dict[int, Any] = {}  # thread ident -> its Whoosh searcher
        # Files are closed even when nobody calls close(): when this object is collected.
        weakref.finalize(self, _close_all, self._open)
        self._shared_key: tuple | None = None
        self._shared: tuple[DocSets, Speller, TableLoader] | None = None

    def view(self) -> IndexView:
        """The calling thread's view of the newest version of the live generation."""
        generation = live_generation(self.data_dir)
        if generation is None:
            raise IndexMissing(
                f"no index in {self.data_dir}: run `search ingest` first",
                public="There is no search index yet: run `search ingest` on the server first.",
            )
        if not generation.path.is_dir():
            raise IndexMissing.gone(generation.name)
        with self._lock:
            if generation != self._generation:
                try:
                    self._index = schema.open_index(generation.path)
                except (whoosh_index.IndexError, FileNotFoundError):
                    raise IndexMissing.gone(generation.name) from None
                self._generation = generation
            index = self._index
        local = self._local
        current: IndexView | None = getattr(local, "view", None)
        if current is None or local.generation != generation:
            searcher = index.searcher(weighting=self.ranking.weighting())
            local.view = IndexView(
                searcher,
                query_language.make_parser(searcher.schema),
                *self._shared_by(searcher, generation),
                version=_version(generation, searcher),
            )
            local.generation = generation
            self._track(searcher)
        elif not current.searcher.up_to_date():
            # A new searcher, not Whoosh's refresh(): refresh() hands on the readers of
            # segments it already had, with the deletions they had then, so an article
            # updated since would be found in its old version as well as its new one.
            searcher = index.searcher(weighting=self.ranking.weighting())
            shared = self._shared_by(searcher, generation)
            local.view = IndexView(
                searcher, current.parser, *shared, version=_version(generation, searcher)
            )
            self._track(searcher)
        return local.view

    def pinned_view(self) -> IndexView:
        """A view of the newest version of the live generation that is the caller's alone: no
        later request refreshes or closes it, so a long read (an export) sees one version
        throughout. The caller closes its Whoosh searcher."""
        self.view()  # (opens the live generation, or says why there is none)
        with self._lock:
            index, generation = self._index, self._generation
        searcher = index.searcher(weighting=self.ranking.weighting())
        parser = query_language.make_parser(searcher.schema)
        shared = self._shared_by(searcher, generation)
        return IndexView(searcher, parser, *shared, version=_version(generation, searcher))

    def _track(self, searcher) -> None:
        """Remember the calling thread's Whoosh searcher, so that its files are closed.

        Closes the thread's previous searcher and those of threads that have ended.
        """
        with self._lock:
            previous = self._open.pop(threading.get_ident(), None)
            if previous is not None:
                previous.close()
            alive = {thread.ident for thread in threading.enumerate()}
            for ident in [i for i in self._open if i not in alive]:
                self._open.pop(ident).close()
            self._open[threading.get_ident()] = searcher

    def close(self) -> None:
        """Close every open Whoosh searcher (of all threads)."""
        with self._lock:
            _close_all(self._open)
        self._local = threading.local()

    def __enter__(self) -> Searcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _shared_by(self, searcher, generation: Generation) -> tuple[DocSets, Speller, TableLoader]:
        """The document sets, respellings and canonical names of the searcher's index version,
        shared by this process's threads."""
        key = (generation, searcher.reader().generation())
        with self._lock:
            if self._shared_key != key:
                names = TableLoader(generation.path)
                self._shared = (DocSets(searcher.reader()), Speller(generation.path), names)
                self._shared_key = key
            return self._shared

    def _searcher(self):
        """The calling thread's Whoosh searcher over the newest live generation."""
        return self.view().searcher

    def parse(self, text: str, view: IndexView | None = None) -> tuple[query.Query, list[str]]:
        """Parse a query in the documented syntax; return it with notices for the reader.

        Raises:
            InvalidRequest: the query cannot be read at all.
        """
        view = view or self.view()
        reader = view.searcher.reader()
        return query_language.parse(view.parser, text, reader, self.limits.max_expansion)

    def rank(self, text: str, limit: int = 1000) -> list[tuple[str, float]]:
        """Return the ids and scores of the best ``limit`` matches of a query, best first.

        The ranking of :meth:`search` without its snippets and facets (for evaluation).
        """
        view = self.view()
        searcher = view.searcher
        parsed, _ = self.parse(text, view)
        matched = view.docs(parsed)
        scored = self._feedback(view, parsed, matched)
        return [
            (searcher.stored_fields(docnum)[schema.ID], score)
            for docnum, score in view.best(scored, matched, limit)
        ]

    def _feedback(self, view: IndexView, parsed, matched: int, restriction=None):
        """``parsed`` rescored by pseudo-relevance feedback from its best matches (those within
        the request's ``restriction``, its filters as a query, when it has one)."""
        reader = view.searcher.reader()
        filtered = restriction is not None
        return view.sets.expanded(
            (parsed, restriction),
            lambda: scoring.with_feedback(
                view.searcher,
                parsed,
                lambda q, count: view.best(q, matched, count, filtered),
                self.ranking.feedback,
                lambda word: view.sets.frequency(reader, word),
            ),
        )

    @staticmethod
    def _matches(view: IndexView, parsed, restriction) -> int:
        """The documents that match the query and pass the request's filters (``restriction``,
        as a query, or None), as a bitset."""
        docs = view.docs(parsed)
        if restriction is not None:
            docs = docs & view.docs(restriction)
        return docs

    def plan(self, view: IndexView, request: SearchRequest) -> order.Plan:
        """How ``request``'s matches are ranked in ``view``'s version of the index.

        Raises:
            InvalidRequest: the query cannot be read at all.
        """
        parsed, notices = self.parse(request.q, view)
        restriction = query_language.filter_query(request, view.name_table)
        matched = self._matches(view, parsed, restriction)
        # (A query of source: and date: clauses alone, or of exclusions alone, scores every
        # match the same: the newest come first.)
        by_date = request.sort == "newest" or not request.q or not scoring.searched_parts(parsed)
        plan = order.Plan(parsed, notices, matched, parsed, by_date, restriction is not None)
        if matched and not by_date:
            plan.scored = self._feedback(view, parsed, matched, restriction)
            plan.blend = (request.recency, view.newest_ticks()) if request.recency else None
        plan.stories = collapse.stories(view.sets, view.searcher.reader())
        plan.collapse = request.collapse
        return plan

    def search(self, request: SearchRequest, cursor: Cursor | None = None) -> SearchResponse:
        """Run ``request``; return the response of the search contract. Given a ``cursor``
        (from a response's ``next_cursor``), the page is the ``per_page`` results after it.

        The match set (for the total and the facets) comes from cached posting sets; only the
        page is scored by Whoosh, and only the page is highlighted.

        Raises:
            InvalidRequest: a bad query, or a cursor of another search (IndexChanged: of
                another version of the index).
        """
        started = time.perf_counter()
        view = self.view()
        searcher = view.searcher
        if cursor is not None:
            cursor.check(view.version, request)
        plan = self.plan(view, request)
        matched, scored, parsed = plan.matched, plan.scored, plan.parsed
        start, end = (request.page - 1) * request.per_page, request.page * request.per_page
        stories = plan.stories
        if cursor is not None:
            start, page = cursor.served, order.after_cursor(view, plan, cursor, request.per_page)
        elif not matched:
            page = []  # (Whoosh would read an empty filter as no filter)
        else:

            def ranked(count: int) -> list[tuple[int, float | None]]:
                if plan.by_date:
                    return [(d, None) for d in view.newest(matched, count)]
                return view.best(scored, matched, count, plan.filtered, plan.blend)

            page = collapse.page(ranked, plan.collapsing, start, end)
        terms = highlight.highlight_terms(parsed, searcher.reader())
        hits = []
        for docnum, score in page:
            explain = None
            if request.explain and request.q:
                explain = scoring.explain_hit(view, scored, docnum, score, request, parsed)
            hit = self._hit(searcher, docnum, score, terms, explain)
            hits.append(replace(hit, versions=stories.others(docnum)))
        total = matched.bit_count()
        found = collapse.matched_stories(stories, view.sets.docnums(matched))
        shown = found if request.collapse else total
        timeline = view.timeline(matched, request.bucket)
        notices = plan.notices + [timeline.notice] if timeline.notice else plan.notices
        next_cursor = None
        if page and start + len(page) < shown:
            last, score = page[-1]
            key = order.key_of(view, plan, last, score)
            served = start + len(page)
            next_cursor = Cursor(view.version, fingerprint(request), key, last, served).encode()
        response = SearchResponse(
            request=request.to_params(),
            total=total,
            stories=found,
            pages=min(math.ceil(shown / request.per_page), self.limits.last_page(request.per_page)),
            results=hits,
            facets=view.facets(matched),
            timeline=timeline,
            suggestion=self._suggest(request, view) if request.q else None,
            notices=notices,
            generation=self._generation.name if self._generation else None,
            next_cursor=next_cursor,
        )
        response.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return response

    def export(self, request: SearchRequest, snippets: bool = False) -> export.Export:
        """Every match of ``request`` in the order of its pages, from one version of the index
        (see search.engine.export).

        Raises:
            InvalidRequest: the query cannot be read at all.
        """
        return export.read_all(self, request, snippets)

    def similar(self, article_id: str, limit: int = 5) -> list[ArticleSummary] | None:
        """Articles like the one with this id, best first; None when there is no such article."""
        searcher = self._searcher()
        docnum = searcher.document_number(**{schema.ID: article_id})
        if docnum is None:
            return None
        stored = searcher.stored_fields(docnum)
        text = " ".join(stored.get(name) or "" for name in (schema.TITLE, schema.BODY))
        hits = searcher.more_like(docnum, schema.BODY, text=text, top=limit, numterms=15)
        return [ArticleSummary.of(schema.stored_article(hit.fields()), hit.score) for hit in hits]

    def complete(self, text: str, limit: int = 5) -> dict[str, Any]:
        """Autocomplete ``text``: people, topics and title words (see search.engine.suggest).

        Raises:
            InvalidRequest: the text is empty or too long.
        """
        if not text.strip() or len(text) > suggest.MAX_PREFIX or "\x00" in text:
            raise InvalidRequest(f"q must be 1 to {suggest.MAX_PREFIX} characters of text", "q")
        view = self.view()
        with self._lock:
            cached = self._vocabulary
        # Built once per version of the index, as its document sets are.
        if cached is None or cached[0] is not view.sets:
            reader, lexicon = view.searcher.reader(), view.speller.lexicon
            cached = (view.sets, suggest.build_vocabulary(reader, lexicon.counts))
            with self._lock:
                self._vocabulary = cached
        return suggest.suggestions(cached[1], text, limit)

    @staticmethod
    def _hit(
        searcher, docnum: int, score: float | None, terms, explain: dict[str, Any] | None
    ) -> Hit:
        """One result: the stored article, its score and its highlighted title and snippet."""
        article = schema.stored_article(searcher.stored_fields(docnum))
        places = article.extra.get("places")  # (extras are any JSON a source gave)
        return Hit(
            **vars(ArticleSummary.of(article, score)),
            title_html=highlight.title_html(article.title, terms.get(schema.TITLE, ())),
            snippet=highlight.snippet(article.body, terms.get(schema.BODY, ())),
            explain=explain,
            places=[p for p in places if isinstance(p, str)] if isinstance(places, list) else [],
        )

    def _suggest(self, request: SearchRequest, view: IndexView) -> str | None:
        """The query with each rare or unknown word respelt (see search.engine.spelling),
        when any word was and the respelt query finds something."""
        corrected = spelling.respelled(request.q, view.respell)
        if corrected == request.q:
            return None
        try:
            parsed, _ = self.parse(corrected, view)
        except InvalidRequest:
            return None
        found = self._matches(view, parsed, query_language.filter_query(request, view.name_table))
        return corrected if found else None

    def article(self, article_id: str) -> Article | None:
        """Return the indexed article with this id, or None."""
        stored = self._searcher().document(**{schema.ID: article_id})
        return schema.stored_article(stored) if stored else None

    def versions(self, article_id: str) -> list[ArticleSummary] | None:
        """The other articles of this one's story (its other versions), in the order they
        were indexed; None when there is no such article."""
        view = self.view()
        docnum = view.searcher.document_number(**{schema.ID: article_id})
        if docnum is None:
            return None
        members = collapse.stories(view.sets, view.searcher.reader()).members(docnum)
        stored = map(view.searcher.stored_fields, members)
        return [ArticleSummary.of(schema.stored_article(fields), None) for fields in stored]

    def version(self) -> str:
        """The name of the newest version of the live index (each write makes a new one)."""
        return self.view().version

    def health(self) -> dict[str, Any]:
        """Return the live generation, its document count and its age."""
        searcher = self._searcher()
        generation = self._generation
        try:  # (an ingest replaces the table of contents: one listed may be gone when asked)
            tocs = [_mtime(p) for p in generation.path.iterdir() if p.suffix == ".toc"]
            modified = max(filter(None, tocs), default=generation.path.stat().st_mtime)
        except FileNotFoundError:  # (the generation itself, since it was opened)
            raise IndexMissing.gone(generation.name) from None
        return {
            "status": "ok",
            "generation": generation.name,
            "documents": searcher.doc_count(),
            "index_age_seconds": round(time.time() - modified, 1),
            "modified": datetime.fromtimestamp(int(modified), UTC).isoformat(),
        }


def _version(generation: Generation, searcher) -> str:
    """The name of a version of the index: its generation, and the number Whoosh gives each
    change to it (an ingest into the live generation makes a new one)."""
    return f"{generation.name}.{searcher.reader().generation()}"


def _mtime(path: Path) -> float | None:
    """When a file was last modified; None when it is gone."""
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None
