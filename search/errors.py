"""The errors the product's parts raise to each other, each saying what a person can do."""

from __future__ import annotations

# What kind of fault an InvalidRequest is, for programs (the JSON error's "code").
BAD_PARAMETER = "bad_parameter"  # a parameter's value is malformed or out of bounds
UNKNOWN_PARAMETER = "unknown_parameter"  # a parameter the endpoint does not take
BAD_QUERY = "bad_query"  # the query (q) cannot be read or run
NOT_UTF8 = "not_utf8"  # a parameter's bytes are not text (UTF-8)
INDEX_CHANGED = "index_changed"  # a cursor was made in a version of the index since replaced


class InvalidRequest(Exception):
    """A search request a person must correct; the message says how.

    ``param`` names the parameter at fault (None when no one parameter is), and ``code`` is
    one of the codes above.
    """

    status = 400

    def __init__(self, message: str, param: str | None = None, code: str = BAD_PARAMETER):
        super().__init__(message)
        self.param = param
        self.code = code


class IndexChanged(InvalidRequest):
    """A cursor was made in a version of the index that has since changed: the pages it leads
    to are gone, and the reader must start again."""

    status = 409


class WriterBusy(Exception):
    """Another process holds the data folder's write lock for longer than we may wait."""


class IndexMissing(Exception):
    """The data folder has no live index generation yet, or the one LIVE names is gone.

    ``str(error)`` is for the operator and may name the data folder; ``public`` says the same
    to a client of the service without naming any path on the server.
    """

    def __init__(self, message: str, public: str | None = None):
        super().__init__(message)
        self.public = public or message

    @classmethod
    def gone(cls, name: str) -> IndexMissing:
        """The live generation ``name`` is missing or incomplete."""
        return cls(
            f"the live index generation {name} is missing or incomplete: "
            "run `search reindex` to rebuild the index from the corpus store"
        )


class NoCorpusStore(Exception):
    """A reindex was asked of a data folder with no corpus store to rebuild the index from."""


class StoreDamaged(Exception):
    """The corpus store's file is damaged or is not a SQLite database at all."""


class IndexingFailed(RuntimeError):
    """An indexing worker process stopped, or failed in a way that cannot be passed on."""


class BadAliases(ValueError):
    """The aliases file of names (search.names) cannot be read or is malformed; the message
    names the file and the line."""
