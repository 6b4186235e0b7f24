"""The lexicon of an index generation: its articles' words as written (unstemmed), each with
the number of articles that hold it. "Did you mean" corrects towards these words and
autocomplete completes with them.

A file beside the generation's segments rather than an index field: a field costs a posting
for every word of every article (it was 40% of indexing time), the file one entry per word.
Counts only grow: an article replaced or deleted leaves its old words counted until the next
reindex, which is harmless for choosing between spellings.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from pathlib import Path

from search.article import Article
from search.engine import schema

logger = logging.getLogger(__name__)

FILE_NAME = "lexicon.json"


class Lexicon:
    """Word -> number of articles holding it."""

    def __init__(self, counts: dict[str, int] | None = None):
        self.counts: Counter[str] = Counter(counts or {})

    def add(self, article: Article) -> None:
        """Count the words of an article's title and body."""
        self._count(article.title, article.body)

    def _count(self, title: str, body: str) -> None:
        self.counts.update(schema.written_words(title) | schema.written_words(body))

    @classmethod
    def of_index(cls, searcher) -> Lexicon:
        """Count the words of every article an index stores (to rebuild a lost lexicon)."""
        lexicon = cls()
        for stored in searcher.all_stored_fields():
            lexicon._count(stored.get(schema.TITLE) or "", stored.get(schema.BODY) or "")
        return lexicon

    @classmethod
    def load(cls, folder: str | Path) -> Lexicon | None:
        """The lexicon saved in ``folder``; None when it is missing (an index made before
        lexicons) or cannot be read (written atomically, so only damage from outside)."""
        path = Path(folder) / FILE_NAME
        try:
            with open(path, encoding="utf-8") as handle:
                counts = json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning("cannot read %s: %s", path, error)
            return None
        if not isinstance(counts, dict) or not all(isinstance(n, int) for n in counts.values()):
            logger.warning("%s holds no word counts", path)
            return None
        return cls(counts)

    def save(self, folder: str | Path) -> None:
        """Write the lexicon into ``folder``, replacing the old one atomically."""
        path = Path(folder) / FILE_NAME
        tmp = path.with_name(f".{FILE_NAME}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.counts, handle, ensure_ascii=False, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
