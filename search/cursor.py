"""Cursors for paging past the depth limit: an opaque token naming where a search's results
go on (search after the last hit's sort key) in one version of the index.

A cursor is the base64url of a small JSON object (the index version, the search it belongs
to, the last hit's sort key and document number, how many results came before) and a
checksum of it. The checksum catches a damaged or edited cursor; it is not a secret, and need
not be: a forged cursor could only lead into the results of the search it names.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from search.errors import INDEX_CHANGED, IndexChanged, InvalidRequest
from search.request import SearchRequest

# Longer than any cursor this service makes (they are about 150 characters).
MAX_LENGTH = 500
# What a cursor's checksum is keyed with, so that it differs from a plain hash of its text.
_PERSON = b"search-cursor"
# The request's parameters that do not change which results come in which order.
_PAGING = ("page", "per_page", "explain", "bucket")

DAMAGED = (
    "cursor is not one this service made (it is damaged or was altered): start again from "
    "the first page, without a cursor"
)


@dataclass(frozen=True)
class Cursor:
    """Where a search's results go on: after the hit ``doc`` whose sort key is ``key`` (lower
    first; ties by document number), ``served`` results in, in index version ``version``."""

    version: str
    search: str  # the fingerprint of the search (see fingerprint())
    key: float
    doc: int
    served: int

    def encode(self) -> str:
        """The cursor as an opaque URL-safe token."""
        data = {"v": self.version, "s": self.search, "k": self.key, "d": self.doc}
        payload = json.dumps(data | {"n": self.served}, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(_checksum(payload))}"

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Read a token made by :meth:`encode`.

        Raises:
            InvalidRequest: the token is too long, damaged, altered or not a cursor at all.
        """
        if len(token) > MAX_LENGTH:
            raise InvalidRequest(
                f"cursor is {len(token)} characters long: longer than any this service makes",
                "cursor",
            )
        payload_text, dot, checksum_text = token.partition(".")
        try:
            payload = _unb64(payload_text)
            valid = bool(dot) and _unb64(checksum_text) == _checksum(payload)
            data = json.loads(payload) if valid else None
        except (ValueError, binascii.Error):  # (UnicodeDecodeError and JSON errors included)
            data = None
        fields = ("v", "s", "k", "d", "n")
        if not isinstance(data, dict) or set(data) != set(fields):
            raise InvalidRequest(DAMAGED, "cursor")
        version, search, key, doc, served = (data[name] for name in fields)
        well_typed = (
            isinstance(version, str)
            and isinstance(search, str)
            and isinstance(key, int | float)
            and not isinstance(key, bool)
            and math.isfinite(key)
            and all(type(n) is int and n >= 0 for n in (doc, served))
        )
        if not well_typed:
            raise InvalidRequest(DAMAGED, "cursor")
        return cls(version, search, float(key), doc, served)

    def check(self, version: str, request: SearchRequest) -> None:
        """Refuse the cursor unless it was made for ``request``'s search in this ``version``
        of the index.

        Raises:
            InvalidRequest: made for another search.
            IndexChanged: the index has changed since it was made.
        """
        if self.search != fingerprint(request):
            raise InvalidRequest(
                "cursor was made for another search: use it with the q, filters, sort, "
                "recency and collapse of the search it came from",
                "cursor",
            )
        if self.version != version:
            raise IndexChanged(
                "the index changed since this cursor was made (articles were added, changed or "
                "reindexed): start again from the first page",
                "cursor",
                INDEX_CHANGED,
            )


def fingerprint(request: SearchRequest) -> str:
    """What names a search's results and their order: its parameters but the paging ones."""
    wanted: dict[str, Any] = {k: v for k, v in request.to_params().items() if k not in _PAGING}
    text = json.dumps(wanted, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _checksum(payload: bytes) -> bytes:
    return hashlib.blake2b(payload, digest_size=8, person=_PERSON).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
