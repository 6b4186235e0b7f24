"""The corpus store (SQLite): every cleaned article, the source of truth a reindex reads."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from search.article import Article

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

ADDED, UPDATED, UNCHANGED = "added", "updated", "unchanged"


def _content_hash(data: dict) -> str:
    content = {k: v for k, v in data.items() if k != "fetched"}
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


class CorpusStore:
    """The articles of one data folder, in ``corpus.sqlite3``."""

    def __init__(self, data_dir: str | Path):
        self.path = Path(data_dir) / STORE_FILE
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are opened explicitly, one per batch.
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def __enter__(self) -> CorpusStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def upsert(self, articles: Iterable[Article]) -> list[tuple[Article, str]]:
        """Add or update ``articles`` in one transaction; return each with its outcome.

        The outcome is ``"added"``, ``"updated"`` or ``"unchanged"``. New and changed articles
        are marked pending until :meth:`mark_indexed`.
        """
        now = datetime.now(UTC).isoformat()
        outcomes = []
        with self._transaction():
            for article in articles:
                data = article.to_dict()
                digest = _content_hash(data)
                row = self._db.execute(
                    "SELECT content_hash FROM articles WHERE id = ?", (article.id,)
                ).fetchone()
                if row and row[0] == digest:
                    outcomes.append((article, UNCHANGED))
                    continue
                self._db.execute(
                    "INSERT INTO articles (id, source, url, data, content_hash, added, updated,"
                    " pending) VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(id) DO UPDATE SET"
                    " source=excluded.source, url=excluded.url, data=excluded.data,"
                    " content_hash=excluded.content_hash, updated=excluded.updated, pending=1",
                    (article.id, article.source, article.url, json.dumps(data), digest, now, now),
                )
                outcomes.append((article, UPDATED if row else ADDED))
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
        row = self._db.execute("SELECT data FROM articles WHERE id = ?", (article_id,)).fetchone()
        return Article.from_dict(json.loads(row[0])) if row else None

    def articles(self, pending_only: bool = False, batch: int = 1000) -> Iterator[Article]:
        """Yield every stored article (or only those not yet in the live index), in id order."""
        where = "AND pending = 1" if pending_only else ""
        last = ""
        while True:
            rows = self._db.execute(
                f"SELECT id, data FROM articles WHERE id > ? {where} ORDER BY id LIMIT ?",
                (last, batch),
            ).fetchall()
            if not rows:
                return
            for _, data in rows:
                yield Article.from_dict(json.loads(data))
            last = rows[-1][0]

    def mark_indexed(self, ids: Iterable[str] | None = None) -> None:
        """Record that the live index holds these articles (all of them when ``ids`` is None)."""
        with self._transaction():
            if ids is None:
                self._db.execute("UPDATE articles SET pending = 0 WHERE pending = 1")
            else:
                self._db.executemany(
                    "UPDATE articles SET pending = 0 WHERE id = ?", ((i,) for i in ids)
                )

    def count(self) -> int:
        """Return the number of stored articles."""
        return self._db.execute("SELECT count(*) FROM articles").fetchone()[0]

    def count_pending(self) -> int:
        """Return the number of articles the live index does not hold yet."""
        return self._db.execute("SELECT count(*) FROM articles WHERE pending = 1").fetchone()[0]

    def count_by_source(self) -> dict[str, int]:
        """Return the number of stored articles per source, largest first."""
        rows = self._db.execute(
            "SELECT source, count(*) AS n FROM articles GROUP BY source ORDER BY n DESC, source"
        )
        return dict(rows.fetchall())
