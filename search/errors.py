"""The errors the product's parts raise to each other, each saying what a person can do."""

from __future__ import annotations


class InvalidRequest(Exception):
    """A search request a person must correct; the message says how."""

    status = 400


class WriterBusy(Exception):
    """Another process holds the data folder's write lock for longer than we may wait."""


class IndexMissing(Exception):
    """The data folder has no live index generation yet."""


class IndexingFailed(RuntimeError):
    """An indexing worker process stopped, or failed in a way that cannot be passed on."""
