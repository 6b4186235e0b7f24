"""The timeline as the page draws it: an SVG bar per period, each a link to its period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from search.engine.results import Timeline, TimelineBucket
from web.templating import search_url

# The chart's coordinates (its viewBox): each period a slot this wide, the bars this high at
# most. The SVG is stretched to the page's width, so only proportions matter.
SLOT = 10
HEIGHT = 100
GAP = 2  # between two bars
LOWEST = 3  # the height of the bar of a period with one match or a few: still there to see


@dataclass(frozen=True)
class Bar:
    """One period's bar: where it is drawn, what it says, and where it leads (None when the
    period holds no match)."""

    x: int
    y: float
    height: float
    label: str
    href: str | None


def period(bucket: TimelineBucket) -> str:
    """A period for readers: 3 Mar 1987, 2–8 Mar 1987, March 1987 or 1987."""
    start, end = bucket.start, bucket.end
    if bucket.unit == "day":
        return _day(start)
    if bucket.unit == "month":
        return f"{start:%B %Y}"
    if bucket.unit == "year":
        return str(start.year)
    if start.year != end.year:
        return f"{_day(start)} – {_day(end)}"
    if start.month != end.month:
        return f"{start.day} {start:%b} – {_day(end)}"
    return f"{start.day}–{_day(end)}"


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


def _articles(count: int) -> str:
    return f"{count:,} article{'' if count == 1 else 's'}"


def chart(timeline: Timeline, req: dict[str, Any]) -> dict[str, Any] | None:
    """What the page draws of ``timeline`` (for the search ``req``): its bars, their scale and
    its first and last periods; None when fewer than two periods hold the matches.

    A bar's link narrows the search to its period, within any dates the search already has
    (the first and last periods may run past them), so that it finds the bar's count; its
    timeline then takes the unit that fits the period.
    """
    buckets = timeline.buckets
    if len(buckets) < 2:
        return None
    peak = max(bucket.count for bucket in buckets)
    low, high = (date.fromisoformat(req[f]) if req.get(f) else None for f in ("from", "to"))
    bars = []
    for i, bucket in enumerate(buckets):
        height = max(LOWEST, HEIGHT * bucket.count / peak) if bucket.count else 0
        href = None
        if bucket.count:
            start = max(bucket.start, low) if low else bucket.start
            end = min(bucket.end, high) if high else bucket.end
            dates = {"from": start.isoformat(), "to": end.isoformat()}
            # (without the unit asked for, if any: the narrower span takes its own)
            href = search_url(req, bucket=None, **dates)
        label = f"{period(bucket)}: {_articles(bucket.count)}"
        bars.append(Bar(i * SLOT, round(HEIGHT - height, 2), round(height, 2), label, href))
    return {
        "unit": timeline.unit,
        "bars": bars,
        "width": len(buckets) * SLOT,
        "height": HEIGHT,
        "slot": SLOT,
        "bar_width": SLOT - GAP,
        "offset": GAP / 2,
        "peak": _articles(peak),
        "start": buckets[0].start,
        "end": buckets[-1].end,
        "first": period(buckets[0]),
        "last": period(buckets[-1]),
        "undated": timeline.undated,
    }
