"""The corpus store (SQLite): every cleaned article, the source of truth a reindex reads."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import NamedTuple

from search import stories
from search.article import Article
from search.errors import StoreDamaged
from search.names import NameRow

STORE_FILE = "corpus.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    data TEXT NOT NULL,          -- Article.to_dict() as JSON
    content_hash TEXT NOT NULL,  -- of everything but the fetch time: tells updates from repeats
    added TEXT NOT NULL,
    updated TEXT NOT NULL,
    pending INTEGER NOT NULL     -- 1 until the live index generation holds this version
);
CREATE INDEX IF NOT EXISTS articles_pending ON articles (pending) WHERE pending = 1;
"""

# Stories (search.stories): each article's story and whether it is clustered as its body now
# reads, and the band keys of the fingerprinted bodies (article: the articles table's rowid).
_STORY_COLUMNS = {"story": "INTEGER", "clustered": "INTEGER NOT NULL DEFAULT 0"}
_STORY_SCHEMA = """
CREATE INDEX IF NOT EXISTS articles_story ON articles (story);
CREATE INDEX IF NOT EXISTS articles_unclustered ON articles (clustered) WHERE clustered = 0;
CREATE TABLE IF NOT EXISTS story_bands (
    key INTEGER NOT NULL,
    article INTEGER NOT NULL,
    PRIMARY KEY (key, article)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS story_bands_article ON story_bands (article);
"""
CANDIDATES = 20  # most candidates checked for one article (those sharing the most bands)

# The crawler's half of the store: raw pages as fetched (zlib-compressed) and the frontier of
# URLs a crawl has found, so that an interrupted crawl resumes and a reindex can re-clean.
_CRAWL_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    url TEXT PRIMARY KEY,        -- the canonical URL asked for
    final_url TEXT NOT NULL,     -- after same-host redirects
    content_type TEXT NOT NULL,
    charset TEXT,                -- as the Content-Type header declared it
    etag TEXT,
    last_modified TEXT,
    fetched TEXT NOT NULL,
    raw BLOB NOT NULL,           -- zlib-compressed body
    article_id TEXT,             -- the article cleaned from it, if any
    body_hash TEXT               -- of that article's text: the same text under two URLs is one
);
CREATE INDEX IF NOT EXISTS pages_body_hash ON pages (body_hash) WHERE body_hash IS NOT NULL;
CREATE TABLE IF NOT EXISTS frontier (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    depth INTEGER NOT NULL,
    state TEXT NOT NULL,         -- queued, fetched (raw kept, not cleaned), done, skipped, failed
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS frontier_state ON frontier (state);
CREATE TABLE IF NOT EXISTS crawl_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Outcome(StrEnum):
    """What an upsert did with an article (also the words the commands print)."""

    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class State(StrEnum):
    """Where a URL of the crawl frontier stands (stored in the frontier table as the value)."""

    QUEUED = "queued"
    FETCHED = "fetched"  # raw copy kept, not cleaned yet
    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


class FrontierRow(NamedTuple):
    """One URL of the crawl frontier: what it was found as, how deep, and what became of it."""

    url: str
    kind: str
    depth: int
    state: str
    reason: str


def _content_hash(data: dict) -> str:
    content = {k: v for k, v in data.items() if k != "fetched"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def is_damage(error: sqlite3.Error) -> bool:
    """Whether SQLite failed because the file is damaged or is not a database (not because of
    space, permissions or a lock)."""
    return getattr(error, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB")


class CorpusStore:
    """The articles of one data folder, in ``corpus.sqlite3``."""

    def __init__(self, data_dir: str | Path):
        """Open (or create) the store of ``data_dir``.

        Raises:
            StoreDamaged: the file is damaged or is not a SQLite database.
        """
        self.path = Path(data_dir) / STORE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly, one per batch.
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.executescript(_CRAWL_SCHEMA)
            known = {row[1] for row in self._db.execute("PRAGMA table_info(articles)")}
            for name, kind in _STORY_COLUMNS.items():
                if name not in known:  # (a store from before stories)
                    self._db.execute(f"ALTER TABLE articles ADD COLUMN {name} {kind}")
            self._db.executescript(_STORY_SCHEMA)
        except sqlite3.DatabaseError as error:
            self._db.close()
            if is_damage(error):
                raise StoreDamaged(
                    f"the corpus store {self.path} is damaged or not a database ({error})"
                ) from error
            raise

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> CorpusStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def upsert(self, articles: Iterable[Article]) -> list[tuple[Article, Outcome]]:
        """Add or update ``articles`` in one transaction; return each with its outcome.

        New and changed articles are marked pending until :meth:`mark_indexed`.
        """
        now = datetime.now(UTC).isoformat()
        outcomes = []
        with self._transaction():
            for article in articles:
                data = article.to_dict()
                data.pop("story", None)  # (kept in its own column)
                digest = _content_hash(data)
                row = self._db.execute(
                    "SELECT content_hash FROM articles WHERE id = ?", (article.id,)
                ).fetchone()
                if row and row[0] == digest:
                    outcomes.append((article, Outcome.UNCHANGED))
                    continue
                self._db.execute(
                    "INSERT INTO articles (id, source, url, data, content_hash, added, updated,"
                    " pending) VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(id) DO UPDATE SET"
                    " source=excluded.source, url=excluded.url, data=excluded.data,"
                    " content_hash=excluded.content_hash, updated=excluded.updated, pending=1,"
                    " clustered=0",
                    (article.id, article.source, article.url, json.dumps(data), digest, now, now),
                )
                outcomes.append((article, Outcome.UPDATED if row else Outcome.ADDED))
        return outcomes

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def get(self, article_id: str) -> Article | None:
        """Return the stored article with this id, or None."""
        row = self._db.execute(
            "SELECT data, story FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        return _article(*row) if row else None

    def articles(self, pending_only: bool = False, batch: int = 1000) -> Iterator[Article]:
        """Yield every stored article (or only those not yet in the live index), in id order."""
        where = "AND pending = 1" if pending_only else ""
        last = ""
        while True:
            rows = self._db.execute(
                f"SELECT id, data, story FROM articles WHERE id > ? {where} ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for _, data, story in rows:
                yield _article(data, story)
            last = rows[-1][0]

    def name_rows(self, batch: int = 5000) -> Iterator[NameRow]:
        """Every stored article's people and topics (search.names), in id order, its text read
        only when asked for; SQLite takes them out of the stored JSON."""
        last = ""
        while True:
            rows = self._db.execute(
                "SELECT id, json_extract(data, '$.people'), json_extract(data, '$.topics')"
                " FROM articles WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for article_id, people, topics in rows:
                text = partial(self._text, article_id)
                yield NameRow(json.loads(people or "[]"), json.loads(topics or "[]"), text)
            last = rows[-1][0]

    def _text(self, article_id: str) -> str:
        row = self._db.execute(
            "SELECT json_extract(data, '$.title'), json_extract(data, '$.body')"
            " FROM articles WHERE id = ?",
            (article_id,),
        ).fetchone()
        return "\n".join(part or "" for part in row) if row else ""

    def assign_stories(self, batch: int = 500, pending_only: bool = False) -> int:
        """Put every article added or changed since it was last clustered into its story
        (see search.stories); return how many were clustered. An article whose story changes
        is marked pending, so that the index learns of it. ``pending_only``: only the
        articles waiting for the index (an ingest's or a crawl's), not those of a store from
        before stories, which the next reindex clusters (an ingest of a few articles would
        otherwise cluster, and then re-index, the archive)."""
        done = 0
        # (the waiting ones by their own index: "+" keeps SQLite from reading every article
        # of an old store through the index of those not clustered)
        where = "pending = 1 AND +clustered = 0" if pending_only else "clustered = 0"

        def after(rowid: int) -> list[tuple[int, str, int | None]]:  # (the next batch)
            return self._db.execute(
                f"SELECT rowid, data, story FROM articles WHERE {where} AND rowid > ?"
                " ORDER BY rowid LIMIT ?",
                (rowid, batch),
            ).fetchall()

        with stories.fingerprinter(self.count(where)) as fingerprints:
            rows = after(0)
            made = fingerprints([data for _, data, _ in rows])
            while rows:
                following = after(rows[-1][0])  # (clustering changes its own batch's rows)
                coming = fingerprints([data for _, data, _ in following])
                with self._transaction():
                    for (rowid, _, story), found in zip(rows, made(), strict=True):
                        self._cluster(rowid, found, story)
                done += len(rows)
                rows, made = following, coming
        return done

    def count_unclustered(self) -> int:
        """How many indexed articles are in no story yet (stored before stories were kept)."""
        return self.count("clustered = 0 AND pending = 0")

    def _cluster(self, rowid: int, found: stories.Fingerprint | None, story: int | None) -> None:
        """Cluster one article (inside a transaction) by its fingerprint: its new band keys,
        and its story."""
        self._db.execute("DELETE FROM story_bands WHERE article = ?", (rowid,))
        joined = self._best_match(rowid, found) if found else None
        if joined is None:
            shared = (
                story is not None
                and self._db.execute(
                    "SELECT 1 FROM articles WHERE story = ? AND rowid != ? LIMIT 1", (story, rowid)
                ).fetchone()
            )
            if story is None or shared:  # (it leaves a story the others keep)
                joined = self._db.execute(
                    "SELECT coalesce(max(story), 0) + 1 FROM articles"
                ).fetchone()[0]
            else:
                joined = story
        if found:
            self._db.executemany(
                "INSERT OR IGNORE INTO story_bands (key, article) VALUES (?, ?)",
                ((key, rowid) for key in found.keys),
            )
        self._db.execute(
            "UPDATE articles SET story = ?, clustered = 1,"
            " pending = CASE WHEN story IS ? THEN pending ELSE 1 END WHERE rowid = ?",
            (joined, joined, rowid),
        )

    def _best_match(self, rowid: int, found: stories.Fingerprint) -> int | None:
        """The story of the stored article most like this one, when one tells the same story."""
        marks = ",".join("?" * len(found.keys))
        candidates = self._db.execute(
            f"SELECT article FROM story_bands WHERE key IN ({marks}) AND article != ?"
            " GROUP BY article ORDER BY count(*) DESC, article LIMIT ?",
            (*found.keys, rowid, CANDIDATES),
        ).fetchall()
        best, story = 0.0, None
        for (candidate,) in candidates:
            data, its_story = self._db.execute(
                "SELECT data, story FROM articles WHERE rowid = ?", (candidate,)
            ).fetchone()
            stored = json.loads(data)
            if stories.apart(found.published, stories.published(stored)):
                continue  # (as same_story would say, without shingling its body)
            theirs = stories.stored_fingerprint(stored, keys=False)
            similarity = stories.same_story(found, theirs) if theirs else 0.0
            if similarity > best and its_story is not None:
                best, story = similarity, its_story
        return story

    def story_members(self, story: int) -> list[str]:
        """The ids of the articles of a story, in the order they were added."""
        rows = self._db.execute("SELECT id FROM articles WHERE story = ? ORDER BY rowid", (story,))
        return [row[0] for row in rows]

    def mark_indexed(self, ids: Iterable[str] | None = None) -> None:
        """Record that the live index holds these articles (all of them when ``ids`` is None)."""
        with self._transaction():
            if ids is None:
                self._db.execute("UPDATE articles SET pending = 0 WHERE pending = 1")
            else:
                self._db.executemany(
                    "UPDATE articles SET pending = 0 WHERE id = ?", ((i,) for i in ids)
                )

    def count(self, where: str = "1") -> int:
        """Return the number of stored articles (those for which SQL ``where`` holds)."""
        return self._db.execute(f"SELECT count(*) FROM articles WHERE {where}").fetchone()[0]

    def count_pending(self) -> int:
        """Return the number of articles the live index does not hold yet."""
        return self.count("pending = 1")

    def count_by_source(self) -> dict[str, int]:
        """Return the number of stored articles per source, largest first."""
        rows = self._db.execute(
            "SELECT source, count(*) AS n FROM articles GROUP BY source ORDER BY n DESC, source"
        )
        return dict(rows.fetchall())

    # -- raw pages and the crawl frontier ------------------------------------------------------

    def save_page(self, page: StoredPage) -> None:
        """Store (or replace) the raw copy of a fetched page; its article link is reset."""
        self._db.execute(
            "INSERT OR REPLACE INTO pages (url, final_url, content_type, charset, etag,"
            " last_modified, fetched, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                page.url,
                page.final_url,
                page.content_type,
                page.charset,
                page.etag,
                page.last_modified,
                page.fetched,
                zlib.compress(page.body, 6),
            ),
        )

    def page(self, url: str) -> StoredPage | None:
        """Return the stored raw page fetched from ``url``, or None."""
        row = self._db.execute(f"SELECT {_PAGE_COLUMNS} FROM pages WHERE url = ?", (url,))
        found = row.fetchone()
        return _stored_page(found) if found else None

    def pages(self, linked: bool | None = None, batch: int = 200) -> Iterator[StoredPage]:
        """Yield the stored raw pages in URL order: all, or those that made an article or not."""
        where = {None: "", True: "AND article_id IS NOT NULL", False: "AND article_id IS NULL"}
        last = ""
        while True:
            rows = self._db.execute(
                f"SELECT {_PAGE_COLUMNS} FROM pages WHERE url > ? {where[linked]}"
                " ORDER BY url LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            yield from map(_stored_page, rows)
            last = rows[-1][0]

    def count_pages(self) -> int:
        """Return the number of stored raw pages."""
        return self._db.execute("SELECT count(*) FROM pages").fetchone()[0]

    def link_page(self, url: str, article_id: str | None, body_hash: str | None) -> None:
        """Record which article (and text) the page at ``url`` was cleaned into."""
        self._db.execute(
            "UPDATE pages SET article_id = ?, body_hash = ? WHERE url = ?",
            (article_id, body_hash, url),
        )

    def same_text(self, body_hash: str, article_id: str) -> str | None:
        """Return the URL of a stored page whose article has this text under another id."""
        row = self._db.execute(
            "SELECT url FROM pages WHERE body_hash = ? AND article_id != ? LIMIT 1",
            (body_hash, article_id),
        ).fetchone()
        return row[0] if row else None

    def frontier_reset(self) -> None:
        """Forget the last crawl's frontier (a new crawl starts from its start URLs)."""
        self._db.execute("DELETE FROM frontier")

    def frontier_add(self, url: str, kind: str, depth: int, state: str = State.QUEUED) -> bool:
        """Add ``url`` to the frontier unless it is there already; return whether it was new."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO frontier (url, kind, depth, state) VALUES (?, ?, ?, ?)",
            (url, kind, depth, state),
        )
        return cursor.rowcount == 1

    def frontier_set(self, url: str, state: str, reason: str = "") -> None:
        """Record what became of a frontier URL."""
        self._db.execute(
            "UPDATE frontier SET state = ?, reason = ? WHERE url = ?", (state, reason, url)
        )

    def frontier(self, *states: str) -> list[FrontierRow]:
        """Return the frontier URLs in ``states``, in the order they were found."""
        marks = ",".join("?" * len(states))
        rows = self._db.execute(
            f"SELECT url, kind, depth, state, reason FROM frontier WHERE state IN ({marks})"
            " ORDER BY seq",
            states,
        )
        return list(map(FrontierRow._make, rows))

    def frontier_counts(self) -> dict[str, int]:
        """Return the number of frontier URLs in each state."""
        rows = self._db.execute("SELECT state, count(*) FROM frontier GROUP BY state")
        return dict(rows.fetchall())

    def get_state(self, key: str) -> str | None:
        """Return a value the crawler saved for its next run (its start URLs, its scope)."""
        row = self._db.execute("SELECT value FROM crawl_state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_state(self, key: str, value: str) -> None:
        """Save a value for the crawler's next run."""
        self._db.execute(
            "INSERT OR REPLACE INTO crawl_state (key, value) VALUES (?, ?)", (key, value)
        )


def _article(data: str, story: int | None) -> Article:
    """A stored article with its story."""
    article = Article.from_dict(json.loads(data), normalised=True)
    article.story = story
    return article


@dataclass
class StoredPage:
    """A page as fetched: its raw body and what is needed to decode it and to ask for it again."""

    url: str
    final_url: str
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None
    fetched: str
    body: bytes
    article_id: str | None = None


_PAGE_COLUMNS = (
    "url, final_url, content_type, charset, etag, last_modified, fetched, raw, article_id"
)


def _stored_page(row: tuple) -> StoredPage:
    *head, raw, article_id = row
    return StoredPage(*head, body=zlib.decompress(raw), article_id=article_id)
