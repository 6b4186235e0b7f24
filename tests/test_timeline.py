"""The timeline: matches over time in JSON (``facets.timeline``) and on the page (SVG bars that
link to their period), counted over every match and within every filter."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import numpy as np
import pytest

from search.engine.bitsets import packed
from search.engine.timeline import TICKS_PER_DAY, PublicationDays, choose_unit
from tests.conftest import ingest, write_jsonl
from web import create_app

EPOCH = date(1970, 1, 1)


def days(value: str) -> int:
    """A date as days since 1970-01-01."""
    return (date.fromisoformat(value) - EPOCH).days


# The matches' first and last day, the unit asked for, and the unit the timeline takes.
UNIT_CHOICES = [
    ("2024-01-03", "2024-01-03", None, "day"),
    ("2024-01-01", "2024-02-29", None, "day"),  # 60 days
    ("2024-01-01", "2024-03-01", None, "week"),  # 61 days: 9 weeks
    ("2024-01-01", "2025-02-23", None, "week"),  # 60 weeks, Monday to Sunday
    ("2024-01-01", "2025-02-24", None, "month"),  # 61 weeks: 14 months
    ("2020-01-31", "2024-12-01", None, "month"),  # 60 months
    ("2020-01-31", "2025-01-01", None, "year"),  # 61 months
    ("1900-06-01", "2026-06-01", None, "year"),  # 127 years: more than 60, but the largest
    ("2024-01-01", "2026-09-26", "day", "day"),  # 1000 days
    ("2024-01-01", "2026-09-27", "day", "week"),  # 1001 days: too many, the next unit
    ("2024-01-01", "2024-01-02", "year", "year"),  # asked for: kept, however few
    ("2024-01-01", "2024-01-02", "month", "month"),
    ("1000-01-01", "9000-01-01", "day", "year"),  # past every unit's bound: years
]


@pytest.mark.parametrize(("first", "last", "asked", "unit"), UNIT_CHOICES)
def test_the_unit_fits_the_span(first, last, asked, unit):
    assert choose_unit(days(first), days(last), asked) == unit


def publication_days(dates: list[str | None], alive=None) -> PublicationDays:
    """The publication days of documents published on ``dates`` (None: undated)."""
    ticks = np.array(
        [(days(d) + 719162) * TICKS_PER_DAY + 3600 * 10**6 if d else 0 for d in dates],
        dtype=np.int64,
    )
    return PublicationDays(ticks, np.arange(len(dates)) if alive is None else alive)


def bits(docs, size: int) -> int:
    flags = np.zeros(size, dtype=bool)
    flags[list(docs)] = True
    return packed(flags)


def spans(timeline) -> list[tuple[str, str, int]]:
    return [(b.start.isoformat(), b.end.isoformat(), b.count) for b in timeline.buckets]


def test_periods_are_calendar_periods_with_empty_ones_between():
    dates = ["2024-01-03", "2024-01-03", "2024-01-09", "2024-03-31", None, "2024-01-21"]
    found = publication_days(dates)
    everything = bits(range(6), 6)
    weeks = found.timeline(everything, everything)
    assert weeks.unit == "week" and weeks.undated == 1
    assert spans(weeks)[:4] == [
        ("2024-01-01", "2024-01-07", 2),  # Monday to Sunday, the end inclusive
        ("2024-01-08", "2024-01-14", 1),
        ("2024-01-15", "2024-01-21", 1),
        ("2024-01-22", "2024-01-28", 0),
    ]
    assert spans(weeks)[-1] == ("2024-03-25", "2024-03-31", 1)
    assert len(weeks.buckets) == 13 and sum(b.count for b in weeks.buckets) == 5
    months = found.timeline(everything, everything, "month")
    assert spans(months) == [
        ("2024-01-01", "2024-01-31", 4),
        ("2024-02-01", "2024-02-29", 0),  # a leap year's February
        ("2024-03-01", "2024-03-31", 1),
    ]
    years = found.timeline(bits([2, 4], 6), everything, "year")
    assert spans(years) == [("2024-01-01", "2024-12-31", 1)] and years.undated == 1


def test_most_of_the_index_is_counted_as_everything_but_the_rest():
    # Seven documents of ten match: the rest (three) are counted and taken from the whole.
    dates = [f"2024-05-{day:02d}" for day in range(1, 11)]
    found = publication_days(dates)
    everything = bits(range(10), 10)
    matched = bits([0, 1, 2, 4, 6, 8, 9], 10)
    assert spans(found.timeline(matched, everything)) == [
        (f"2024-05-{day:02d}", f"2024-05-{day:02d}", int(day - 1 in (0, 1, 2, 4, 6, 8, 9)))
        for day in range(1, 11)
    ]
    few = bits([3, 7], 10)
    assert [b.count for b in found.timeline(few, everything).buckets] == [1, 0, 0, 0, 1]


def test_deleted_documents_are_never_counted():
    dates = ["2024-05-01", "1999-01-01", "2024-05-03", "2030-01-01"]
    alive = np.array([0, 2])  # documents 1 and 3 are deleted
    found = publication_days(dates, alive)
    timeline = found.timeline(bits(alive, 4), bits(alive, 4))
    assert spans(timeline) == [
        ("2024-05-01", "2024-05-01", 1),
        ("2024-05-02", "2024-05-02", 0),
        ("2024-05-03", "2024-05-03", 1),
    ]


def test_nothing_dated_gives_no_buckets():
    found = publication_days([None, None, "2024-01-01"])
    timeline = found.timeline(bits([0, 1], 3), bits(range(3), 3))
    assert (timeline.unit, timeline.buckets, timeline.undated) == (None, [], 2)
    assert found.timeline(0, bits(range(3), 3)).buckets == []


def test_dates_at_the_ends_of_the_calendar():
    found = publication_days(["9999-12-31", "9999-12-30", "1601-01-01"])
    everything = bits(range(3), 3)
    last = found.timeline(bits([0, 1], 3), everything, "year")
    assert spans(last) == [("9999-01-01", "9999-12-31", 2)]
    assert spans(found.timeline(bits([0, 1], 3), everything)) == [
        ("9999-12-30", "9999-12-30", 1),
        ("9999-12-31", "9999-12-31", 1),
    ]
    # 1601 to 9999 are 8,399 years: only the two with matches are listed, and a notice says so
    # (a stray date would otherwise fill every response with thousands of empty years).
    spread = found.timeline(everything, everything)
    assert spans(spread) == [("1601-01-01", "1601-12-31", 1), ("9999-01-01", "9999-12-31", 2)]
    assert "span 8,399 years: only the years with matches" in spread.notice
    within = publication_days(["2000-01-01", "3000-06-01"])  # 1,001 years: thinned too
    assert len(within.timeline(bits(range(2), 2), bits(range(2), 2)).buckets) == 2
    nearer = publication_days(["2000-01-01", "2999-06-01"])  # 1,000 years: every one listed
    assert len(nearer.timeline(bits(range(2), 2), bits(range(2), 2)).buckets) == 1000
    # The calendar's last week ends with it (9999-12-31 is a Friday), not on the Sunday after.
    weeks = found.timeline(bits([0, 1], 3), everything, "week")
    assert spans(weeks) == [("9999-12-27", "9999-12-31", 2)]


# A real index ------------------------------------------------------------------------------

ARTICLES = [
    ("a1", "2024-01-03T09:00:00Z", "Grain", "Ana Lopes", "Wire", "wheat silos"),
    ("a2", "2024-01-03T23:30:00Z", "Grain", "", "Wire", "barley exports"),
    ("a3", "2024-01-09T06:00:00Z", "Oil", "", "Wire", "crude tankers"),
    ("a4", "2024-01-20T12:00:00+05:00", "Grain", "", "Wire", "maize yields"),
    ("a5", "2024-02-15T12:00:00Z", "Oil", "", "Herald", "refinery outages"),
    ("a6", "2024-06-30T22:00:00-05:00", "Grain", "", "Herald", "rice paddies"),  # 1 July UTC
    ("a7", "2025-03-01T12:00:00Z", "Oil", "Ana Lopes", "Herald", "pipeline tariffs"),
    ("a8", "2020-06-01T12:00:00Z", "Archive", "", "Wire", "granary archives"),
    ("u1", None, "Grain", "", "Wire", "sorghum stocks"),
    ("u2", None, "Oil", "", "Herald", "diesel stocks"),
]
UNDATED = 2


def article(id_, published, topic, person, source, words) -> dict:
    found = {
        "id": id_,
        "title": f"Harvest report {id_}: {words}",
        "body": f"The harvest report {id_} tells of {words}, unlike any other report here. "
        f"{words.capitalize()} were counted by the {source} desk in a survey of its own.",
        "topics": [topic],
        "people": [person] if person else [],
        "source": source,
    }
    if published:
        found["published"] = published
    return found


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("timeline")
    ingest(folder / "index", write_jsonl(folder / "a.jsonl", *(article(*a) for a in ARTICLES)))
    return create_app({"TESTING": True, "INDEX_DIR": str(folder / "index")}).test_client()


def api(client, query: str) -> dict:
    response = client.get("/api/search?" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def by_hand(client, query: str, buckets: list[dict]) -> list[int]:
    """Each bucket's count, from the dates of every result of the search (one page)."""
    body = api(client, query + "&collapse=0&per_page=100")
    assert body["pages"] <= 1
    published = [date.fromisoformat(r["published"][:10]) for r in body["results"] if r["published"]]
    return [
        sum(
            date.fromisoformat(b["start"]) <= day <= date.fromisoformat(b["end"])
            for day in published
        )
        for b in buckets
    ]


def assert_contiguous(buckets: list[dict]) -> None:
    for before, after in zip(buckets, buckets[1:], strict=False):
        assert date.fromisoformat(after["start"]) == date.fromisoformat(before["end"]) + timedelta(
            1
        )
    assert len({b["unit"] for b in buckets}) <= 1


SEARCHES = [
    # (query string, unit, buckets, matches with a date, matches without)
    ("q=harvest", "month", 58, 8, 2),  # June 2020 to March 2025
    ("q=", "month", 58, 8, 2),  # every article (counted once per version of the index)
    ("q=harvest+-granary", "month", 15, 7, 2),  # most of the index: the rest is counted
    ("q=harvest&topic=Grain", "week", 27, 4, 1),  # 3 January to 1 July 2024 (a6, in UTC)
    ("q=harvest&topic=Grain&from=2024-01-01&to=2024-01-31", "day", 18, 3, 0),
    ("q=harvest&from=2024-01-01&to=2024-01-31", "day", 18, 4, 0),
    ("q=harvest&person=Ana+Lopes", "month", 15, 2, 0),  # 61 weeks
    ("q=harvest&source=Herald", "week", 55, 3, 1),
    ("q=harvest&source=Herald&topic=Oil", "week", 55, 2, 1),
    ("q=wheat", "day", 1, 1, 0),
    ("q=sorghum", None, 0, 0, 1),  # undated only
    ("q=harvest&bucket=year", "year", 6, 8, 2),
    ("q=harvest&bucket=week", "week", 248, 8, 2),
    ("q=harvest&topic=Grain&bucket=day", "day", 181, 4, 1),
    ("q=harvest&bucket=", "month", 58, 8, 2),  # empty: fit to the span
]


@pytest.mark.parametrize(("query", "unit", "count", "dated", "undated"), SEARCHES)
def test_every_match_is_counted_within_every_filter(client, query, unit, count, dated, undated):
    body = api(client, query)
    buckets = body["facets"]["timeline"]
    assert len(buckets) == count
    assert {b["unit"] for b in buckets} == ({unit} if unit else set())
    assert all(set(b) == {"start", "end", "count", "unit"} for b in buckets)
    assert sum(b["count"] for b in buckets) == dated  # every match with a date, on any page
    assert body["total"] == dated + undated
    assert [b["count"] for b in buckets] == by_hand(client, query, buckets)
    assert_contiguous(buckets)
    if buckets:  # the span is the matches': its first and last buckets hold one
        assert buckets[0]["count"] and buckets[-1]["count"]
    assert body["request"]["bucket"] == (unit if "bucket=" + str(unit) in query else None)


def test_a_story_filter_is_respected(client):
    story = api(client, "q=wheat")["results"][0]["story"]
    body = api(client, f"q=&story={story}")
    assert body["facets"]["timeline"] == [
        {"start": "2024-01-03", "end": "2024-01-03", "count": 1, "unit": "day"}
    ]


def test_too_many_periods_of_the_unit_asked_for_give_a_larger_unit_and_say_so(client):
    body = api(client, "q=harvest&bucket=day")  # 1,735 days
    buckets = body["facets"]["timeline"]
    assert {b["unit"] for b in buckets} == {"week"} and len(buckets) == 248
    assert "bucket=day would give 1,735 periods (at most 1,000 are drawn)" in body["notices"][0]
    assert "the timeline is by week" in body["notices"][0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("hour", "bucket must be one of day, week, month, year"),
        ("Month", "not 'Month'"),
        ("day&bucket=week", "'bucket' may be given only once"),
        ("d%C3%A1y", "not 'dáy'"),
        ("%00", "bucket must be one of"),
        ("1", "bucket must be one of"),
        ("x" * 300, "bucket must be one of"),
    ],
)
def test_a_bad_bucket_is_a_400_saying_what_is_allowed(client, value, message):
    response = client.get("/api/search?q=harvest&bucket=" + value)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["param"]) == ("bad_parameter", "bucket")
    assert message in error["message"]
    page = client.get("/?q=harvest&bucket=" + value)
    assert page.status_code == 400 and "That search could not be run" in page.get_data(as_text=True)


def test_a_re_ingested_article_is_counted_at_its_new_date_only(tmp_path):
    data_dir = tmp_path / "index"
    first = [article(*a) for a in ARTICLES[:3]]
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", *first))
    client = create_app({"TESTING": True, "INDEX_DIR": str(data_dir)}).test_client()
    assert [b["count"] for b in api(client, "q=harvest")["facets"]["timeline"]] == [2] + [0] * 5 + [
        1
    ]
    moved = article("a3", "2024-01-05T06:00:00Z", *ARTICLES[2][2:])
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", moved))
    # (the same app: its searcher finds the new version of the index by itself)
    buckets = api(client, "q=harvest")["facets"]["timeline"]
    assert [(b["start"], b["count"]) for b in buckets] == [
        ("2024-01-03", 2),
        ("2024-01-04", 0),
        ("2024-01-05", 1),
    ]


# The page -----------------------------------------------------------------------------------

BAR = re.compile(r'<a href="([^"]+)" aria-label="([^"]+)"><title>\2</title>')


def bars(text: str) -> list[tuple[str, str]]:
    """The timeline's bars of a page: (link, label), unescaped."""
    figure = text[text.index('<figure class="timeline"') : text.index("</figure>")]
    return [(html.unescape(link), html.unescape(label)) for link, label in BAR.findall(figure)]


def shown_total(text: str) -> int:
    return int(re.search(r"([\d,]+) results? for", text).group(1).replace(",", ""))


def test_the_page_draws_a_bar_per_period_each_a_link_to_its_period(client):
    text = client.get("/?q=harvest&topic=Grain").get_data(as_text=True)
    assert "Matches by week, 1 Jan 2024 to 7 Jul 2024" in text
    axis = '<div class="timeline-axis" aria-hidden="true"><span>1–7 Jan 2024</span>'
    assert axis + "<span>1–7 Jul 2024</span></div>" in text
    assert "1 matching article without a date is not in the timeline." in text
    found = bars(text)
    # Periods without a match draw no bar and have no link.
    assert [label for _, label in found] == [
        "1–7 Jan 2024: 2 articles",
        "15–21 Jan 2024: 1 article",
        "1–7 Jul 2024: 1 article",
    ]
    assert found[0][0] == "/?q=harvest&topic=Grain&from=2024-01-01&to=2024-01-07"
    for link, label in found:  # each link finds its bar's count
        count = int(label.split(": ")[1].split()[0])
        page = client.get(link).get_data(as_text=True)
        assert shown_total(page) == count
        assert "Dates: " in page  # the period, as a filter a reader can remove


def test_a_bar_narrows_within_the_dates_already_asked_for(client):
    text = client.get("/?q=harvest&from=2024-01-02&to=2024-07-03").get_data(as_text=True)
    found = bars(text)
    assert found[0] == ("/?q=harvest&from=2024-01-02&to=2024-01-07", "1–7 Jan 2024: 2 articles")
    assert found[-1] == ("/?q=harvest&from=2024-07-01&to=2024-07-03", "1–7 Jul 2024: 1 article")
    chip = re.search(r'<a class="chip on" href="([^"]+)"[^>]*>Dates: ([^<]+)</a>', text)
    assert chip.group(2) == "2 Jan 2024 to 3 Jul 2024 ×"
    assert html.unescape(chip.group(1)) == "/?q=harvest"  # removes the period


def test_a_bar_leaves_the_unit_asked_for_to_the_narrower_span(client):
    found = bars(client.get("/?q=harvest&bucket=year").get_data(as_text=True))
    assert found[0] == ("/?q=harvest&from=2020-01-01&to=2020-12-31", "2020: 1 article")
    assert [label for _, label in found] == [
        "2020: 1 article",
        "2024: 6 articles",
        "2025: 1 article",
    ]


def test_the_page_has_no_timeline_for_one_period_or_none(client):
    for query in ("q=wheat", "q=sorghum", "q=zzyzxq", "q=harvest&page=9"):
        assert '<figure class="timeline"' not in client.get("/?" + query).get_data(as_text=True)


def test_the_timeline_is_inert_markup_the_policy_allows(client):
    text = client.get("/?q=harvest").get_data(as_text=True)
    figure = text[text.index('<figure class="timeline"') : text.index("</figure>")]
    assert "<svg" in figure and "style=" not in figure and "<script" not in figure
    assert not re.search(r"\bon[a-z]+=", figure)
    assert "Published" not in text  # the months' list it replaces
