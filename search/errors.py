"""The errors the product's parts raise to each other, each saying what a person can do."""

from __future__ import annotations


class InvalidRequest(Exception):
    """A search request a person must correct; the message says how."""

    status = 400


class WriterBusy(Exception):
    """Another process holds the data folder's write lock for longer than we may wait."""


class IndexMissing(Exception):
    """The data folder has no live index generation yet, or the one LIVE names is gone."""

    @classmethod
    def gone(cls, name: str) -> IndexMissing:
        """The live generation ``name`` is missing or incomplete."""
        return cls(
            f"the live index generation {name} is missing or incomplete: "
            "run `search reindex` to rebuild the index from the corpus store"
        )


class StoreDamaged(Exception):
    """The corpus store's file is damaged or is not a SQLite database at all."""


class IndexingFailed(RuntimeError):
    """An indexing worker process stopped, or failed in a way that cannot be passed on."""
