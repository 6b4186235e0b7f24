"""The timeline: how many matches were published in each day, week, month or year of their span.

Each live document's publication day (UTC) is read once per version of the index, from the
date column (search.engine.docsets), as a code: its place among the days on which anything
in the index was published. A search's matches are counted with one ``numpy.bincount`` of
their codes (or of the rest of the index's, when that is fewer), and the days' counts are
summed into calendar periods through their running total: no Python runs per match, and the
cost does not depend on the unit.

Periods are calendar days, weeks from Monday, months and years; every period of the span,
from the first match's to the last match's, is a bucket, those without a match counting 0.
A bucket's ``end`` is its last day (inclusive, as the ``to`` filter is). Matches without a
date are in no bucket: ``Timeline.undated`` counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np

from search.engine.bitsets import docnum_array
from search.engine.results import Timeline, TimelineBucket
from search.request import BUCKETS as UNITS

# Without a unit asked for, the smallest that draws the matches' span in at most this many bars.
MOST_BARS = 60
# A unit asked for gives at most this many buckets; past it, the smallest larger unit that
# fits is used (and a notice says so).
MOST_BUCKETS = 1000
TICKS_PER_DAY = 86400 * 10**6  # Whoosh stores a datetime as microseconds since year 1
_EPOCH_DAY = date(1970, 1, 1).toordinal() - 1  # 1970-01-01 in days since 0001-01-01
# The calendar's last day (9999-12-31) in days since 1970-01-01: the last week of the calendar
# ends there, not on the Sunday after it.
_LAST_DAY = date.max.toordinal() - 1 - _EPOCH_DAY
# numpy's calendar units of the periods longer than a week.
_CALENDAR = {"month": "datetime64[M]", "year": "datetime64[Y]"}


def _monday(day: int) -> int:
    """The Monday on or before a day (days since 1970-01-01, a Thursday)."""
    return day - (day + 3) % 7


def _period(day: int, unit: str) -> int:
    """The number of the period of ``unit`` that holds a day (days since 1970-01-01)."""
    if unit == "day":
        return day
    if unit == "week":
        return _monday(day) // 7
    return int(np.datetime64(day, "D").astype(_CALENDAR[unit]).astype(np.int64))


def _bars(low: int, high: int, unit: str) -> int:
    """How many periods of ``unit`` run from the one holding ``low`` to the one holding
    ``high`` (days since 1970-01-01)."""
    return _period(high, unit) - _period(low, unit) + 1


def choose_unit(low: int, high: int, asked: str | None) -> str:
    """The unit of a timeline of the days from ``low`` to ``high`` (since 1970-01-01): the
    one asked for while it gives at most MOST_BUCKETS buckets, else the smallest (larger)
    one that fits; without one asked for, the smallest that gives at most MOST_BARS bars."""
    most = MOST_BUCKETS if asked else MOST_BARS
    candidates = UNITS[UNITS.index(asked) :] if asked else UNITS
    for unit in candidates:
        if _bars(low, high, unit) <= most:
            return unit
    return UNITS[-1]


def _boundaries(low: int, high: int, unit: str) -> np.ndarray:
    """The first day of each period of ``unit`` from the one holding ``low`` to the one
    holding ``high``, and of the period after (days since 1970-01-01, int64)."""
    if unit == "day":
        return np.arange(low, high + 2, dtype=np.int64)
    if unit == "week":
        return np.arange(_monday(low), _monday(high) + 8, 7, dtype=np.int64)
    kind = _CALENDAR[unit]
    first, last = (np.datetime64(day, "D").astype(kind) for day in (low, high))
    periods = np.arange(first, last + 2)
    return periods.astype("datetime64[D]").astype(np.int64)


def _dates(days: np.ndarray) -> list[date]:
    """Days since 1970-01-01 as dates."""
    return [date.fromordinal(day + _EPOCH_DAY + 1) for day in days.tolist()]


class PublicationDays:
    """Each live document's publication day, for counting any set of matches by period."""

    def __init__(
        self,
        ticks: np.ndarray,
        alive: np.ndarray,
        docnums: Callable[[int], np.ndarray] | None = None,
    ):
        """``ticks``: every document's publication date in Whoosh's ticks (0: undated);
        ``alive``: the live documents, in order; ``docnums``: the documents of a bitset, in
        order (search.engine.bitsets.docnum_array, or a cache of its latest answers)."""
        self.size = len(ticks)
        self.alive = alive
        self.docnums = docnums or (lambda bits: docnum_array(bits, self.size))
        days = ticks[alive] // TICKS_PER_DAY - _EPOCH_DAY
        dated = ticks[alive] > 0
        # The days on which anything was published (since 1970-01-01), in order; a
        # document's code is its day's place among them, len(self.days) when it has none
        # (deleted documents too: they are never counted).
        self.days, codes = np.unique(days[dated], return_inverse=True)
        # (numpy's platform integers: bincount counts them without a converted copy)
        self.codes = np.full(self.size, len(self.days), dtype=np.intp)
        self.codes[alive[dated]] = codes.reshape(-1)
        self.everything = self._count(alive)

    def _count(self, docs: np.ndarray) -> np.ndarray:
        """How many of ``docs`` were published on each day of ``self.days``, and (last) how
        many have no date."""
        return np.bincount(self.codes[docs], minlength=len(self.days) + 1)

    def histogram(self, matched: int, everything: int) -> np.ndarray:
        """How many documents of the bitset ``matched`` (within ``everything``, the live
        documents) were published on each day of ``self.days``, and (last) without a date."""
        if matched == everything:
            return self.everything
        if 2 * matched.bit_count() > len(self.alive):
            return self.everything - self._count(self.docnums(everything & ~matched))
        return self._count(self.docnums(matched))

    def timeline(self, matched: int, everything: int, asked: str | None = None) -> Timeline:
        """The timeline of the documents of ``matched``: every period of their span, in the
        unit ``asked`` for (one of UNITS) or one that fits the span."""
        counts = self.histogram(matched, everything)
        undated = int(counts[-1])
        dated = np.flatnonzero(counts[:-1])
        if not len(dated):
            return Timeline(undated=undated)
        low, high = int(self.days[dated[0]]), int(self.days[dated[-1]])
        unit = choose_unit(low, high, asked)
        bounds = _boundaries(low, high, unit)
        # Each period's count is the difference of the running total at its two bounds.
        running = np.concatenate(([0], np.cumsum(counts[:-1])))
        found = np.diff(running[np.searchsorted(self.days, bounds)]).tolist()
        starts, ends = map(_dates, (bounds[:-1], np.minimum(bounds[1:] - 1, _LAST_DAY)))
        periods = list(zip(starts, ends, found, strict=True))
        notices = []
        if asked and unit != asked:
            notices.append(
                f"bucket={asked} would give {_bars(low, high, asked):,} periods (at most "
                f"{MOST_BUCKETS:,} are drawn): the timeline is by {unit}"
            )
        if len(periods) > MOST_BUCKETS:
            # (years only: matches dated centuries apart, a stray date most likely)
            notices.append(
                f"the matches span {len(periods):,} {unit}s: only the {unit}s with matches "
                "are in the timeline"
            )
            periods = [period for period in periods if period[2]]
        buckets = [TimelineBucket(*period, unit) for period in periods]
        return Timeline(unit, buckets, undated, "; ".join(notices) or None)
