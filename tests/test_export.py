"""Export and deep paging: /api/export and `search export` give every match once, in the order
of the search's pages, from one version of the index; a cursor pages /api/search past the
depth limit and says when the index changed under it."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import threading
from urllib.parse import parse_qs, urlsplit

import pytest

from search import export as formats
from search.engine import export as engine_export
from search.request import Limits, SearchRequest
from tests.conftest import DEMO, ROOT, ingest, run_cli, write_jsonl
from web import create_app

DEPTH = 10  # the test app's SEARCH_MAX_DEPTH: paging by number stops at result 10
ODD_TITLE = 'Harbour "strike", then; café — 東京 | Zoë\'s ünïcödé\nsecond line'


def _articles() -> list[dict]:
    """Harbour stories: scores that tie (same length, as many "harbour"s), dates that tie, a
    story told three times, and an article whose text is hard on CSV."""
    articles = []
    for n in range(48):
        filler = " ".join(f"w{n}z{chr(97 + j)}" for j in range(20))  # (its own words)
        articles.append(
            {
                "id": f"harbour-{n:02d}",
                "title": f"Harbour report {n:02d}",
                "body": f"{'harbour ' * (1 + n % 4)}{filler}.",
                "topics": ["Ports", f"Batch {n % 3}"],
                "people": ["Ada Quay"] if n % 5 == 0 else [],
                "published": f"2026-02-{1 + n % 20:02d}T08:00:00Z",
                "source": "Wire",
            }
        )
    told = "The harbour board met to settle the dock strike; talks went on late into the night."
    for n in range(3):
        articles.append(
            {
                "id": f"strike-{n}",
                "title": "Harbour board settles dock strike",
                "body": told + " " + told,
                "published": f"2026-03-01T0{n}:00:00Z",
                "source": f"Paper {n}",
            }
        )
    articles.append(
        {
            "id": "odd",
            "title": ODD_TITLE,
            "body": 'Harbour workers said "no", then left.\n\nA second, odd; paragraph: 東京 ✓.',
            "topics": ["Ports | docks", "Labour"],
            "people": ["Zoë O'Brien"],
            "published": "2026-03-05T08:00:00Z",
        }
    )
    return articles


@pytest.fixture(scope="module")
def harbour(tmp_path_factory):
    """A data folder with the demo corpus and the harbour stories, and an app over it whose
    paging by number stops at DEPTH."""
    folder = tmp_path_factory.mktemp("export")
    ingest(folder / "index", DEMO, write_jsonl(folder / "harbour.jsonl", *_articles()))
    app = create_app({"TESTING": True, "INDEX_DIR": str(folder / "index"), "MAX_DEPTH": DEPTH})
    return folder / "index", app.test_client()


def _jsonl(client, query: str) -> list[dict]:
    response = client.get("/api/export?format=jsonl&" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def _walk(client, query: str, per_page: int) -> tuple[list[dict], dict]:
    """Every result of a search, page by cursor; and the first page's response."""
    first = client.get(f"/api/search?per_page={per_page}&{query}").get_json()
    results, body = list(first["results"]), first
    while body["next_cursor"]:
        url = f"/api/search?per_page={per_page}&cursor={body['next_cursor']}&{query}"
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        assert body["next"] is None or "cursor=" in body["next"]
        assert body["page"] is None and body["previous"] is None
        results += body["results"]
    return results, first


SEARCHES = [
    "q=harbour",
    "q=harbour&collapse=0",
    "q=harbour&sort=newest",
    "q=harbour&recency=0.7",
    "q=harbour+strike",  # (feedback's words reorder)
    "q=harb*",  # (ranked by Whoosh)
    "q=harbour&topic=Ports&source=Wire",
    "q=",  # every article, newest first
    "q=source:Wire",  # nothing to score by: newest first
]


@pytest.mark.parametrize("query", SEARCHES)
def test_export_and_cursor_pages_give_every_match_once_in_the_order_of_the_pages(harbour, query):
    _, client = harbour
    rows = _jsonl(client, query)
    ids = [row["id"] for row in rows]
    walked, first = _walk(client, query, per_page=7)
    collapsed = "collapse=0" not in query
    assert len(ids) == len(set(ids)) == (first["stories"] if collapsed else first["total"])
    assert len(ids) > DEPTH  # past the depth limit of paging by number
    # The pages by number are the export's first rows, in order, with the same fields.
    paged = []
    for page in range(1, DEPTH // 5 + 1):
        paged += client.get(f"/api/search?per_page=5&page={page}&{query}").get_json()["results"]
    assert [hit["id"] for hit in paged] == ids[:DEPTH]
    fields = ("id", "url", "title", "published", "source", "topics", "people", "score")
    for hit, row in zip(paged, rows, strict=False):
        assert {f: row[f] for f in fields + ("story", "versions")} == {
            f: hit[f] for f in fields + ("story", "versions")
        }
        assert "snippet" not in row
    # Paging by cursor walks the same list, past the depth limit, none twice, none missed.
    assert [hit["id"] for hit in walked] == ids
    assert [hit["score"] for hit in walked] == [row["score"] for row in rows]


def test_scores_tie_and_ties_keep_one_order(harbour):
    _, client = harbour
    scores = [row["score"] for row in _jsonl(client, "q=harbour&collapse=0")]
    assert len(set(scores)) < len(scores) // 2  # (many ties: the order must still be one)
    assert scores == sorted(scores, reverse=True)


def test_a_collapsed_export_has_one_row_per_story(harbour):
    _, client = harbour
    collapsed = _jsonl(client, "q=dock+strike")
    every = _jsonl(client, "q=dock+strike&collapse=0")
    strikes = [row for row in collapsed if row["id"].startswith("strike-")]
    assert len(strikes) == 1 and strikes[0]["versions"] == 2
    assert len([row for row in every if row["id"].startswith("strike-")]) == 3


def test_csv_export_opens_with_the_csv_module(harbour):
    data_dir, client = harbour
    response = client.get("/api/export?q=harbour&sort=newest&snippets=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="search-harbour.csv"'
    text = response.get_data().decode("utf-8")  # (strictly UTF-8)
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(rows[0]) == [*formats.COLUMNS, "snippet"]
    assert int(response.headers["X-Total-Count"]) == len(rows)
    odd = next(row for row in rows if row["id"] == "odd")
    article = client.get("/api/article/odd").get_json()
    assert (
        odd["title"] == article["title"] and "東京" in odd["title"] and '"strike"' in odd["title"]
    )
    assert odd["topics"] == "Ports | docks | Labour" and odd["people"] == "Zoë O'Brien"
    assert odd["url"] == "" and odd["score"] == ""  # (no web address; newest first: no score)
    assert "<mark>Harbour</mark> workers said &quot;no&quot;" in odd["snippet"]
    assert "paragraph: 東京" in odd["snippet"]
    by_newest = [row["published"] for row in rows]
    assert by_newest == sorted(by_newest, reverse=True)


def test_csv_quotes_newlines_and_unicode_in_any_field():
    row = {
        "id": "x",
        "url": None,
        "title": 'A "quoted", multi-line\r\ntitle; ünïcödé 東京',
        "published": None,
        "source": "Le Monde, Paris",
        "topics": ["a,b", 'say "hi"'],
        "people": [],
        "score": 1.5,
        "story": 3,
        "versions": 0,
        "snippet": "line one\nline two",
    }
    data = b"".join(formats.encode([[row, row]], "csv", snippets=True)).decode("utf-8")
    parsed = list(csv.DictReader(io.StringIO(data, newline="")))
    assert len(parsed) == 2
    assert parsed[0]["title"] == row["title"] and parsed[0]["snippet"] == row["snippet"]
    assert parsed[0]["source"] == "Le Monde, Paris"
    assert parsed[0]["topics"] == 'a,b | say "hi"' and parsed[0]["people"] == ""
    lines = b"".join(formats.encode([[row]], "jsonl", snippets=True)).decode().splitlines()
    assert [json.loads(line) for line in lines] == [row]


def test_csv_text_a_spreadsheet_would_run_as_a_formula_is_written_as_text():
    row = {
        "id": "x",
        "url": None,
        "title": '=HYPERLINK("http://evil.example","click")',
        "published": None,
        "source": "+Wire",
        "topics": ["@SUM(A1)", "ports"],
        "people": ["-Smith"],
        "score": -1.5,  # (a number, not text: as it is)
        "story": 3,
        "versions": 0,
        "snippet": "\tcell",
    }
    data = b"".join(formats.encode([[row]], "csv", snippets=True)).decode("utf-8")
    (parsed,) = csv.DictReader(io.StringIO(data, newline=""))
    assert parsed["title"] == "'" + row["title"]
    assert (parsed["source"], parsed["topics"]) == ("'+Wire", "'@SUM(A1) | ports")
    assert (parsed["people"], parsed["snippet"], parsed["score"]) == ("'-Smith", "'\tcell", "-1.5")
    lines = b"".join(formats.encode([[row]], "jsonl", snippets=True)).decode().splitlines()
    assert [json.loads(line) for line in lines] == [row]  # (JSON Lines: as it is)


@pytest.mark.parametrize(
    ("query", "param", "says"),
    [
        ("format=xml", "format", "format must be one of csv, jsonl"),
        ("format=csv&format=jsonl", "format", "only once"),
        ("snippets=yes", "snippets", "snippets must be 1 or 0"),
        ("page=2", "page", "unknown parameter 'page'"),
        ("per_page=5", "per_page", "unknown parameter"),
        ("cursor=abc", "cursor", "unknown parameter"),
        ("q=NOT+NOT+NOT+harbour", "q", "could not understand"),
        ("sort=oldest", "sort", "sort must be one of"),
        ("from=2026-13-01", "from", "YYYY-MM-DD"),
    ],
)
def test_a_bad_export_is_a_400_before_any_row(harbour, query, param, says):
    _, client = harbour
    response = client.get("/api/export?" + query)
    assert response.status_code == 400 and response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["param"] == param and says in error["message"]


def test_an_export_reads_one_version_of_the_index_while_it_changes(tmp_path):
    data_dir = tmp_path / "index"
    ingest(data_dir, DEMO / "text", write_jsonl(tmp_path / "harbour.jsonl", *_articles()))
    client = create_app({"INDEX_DIR": str(data_dir)}).test_client()
    searcher = client.application.extensions["searcher"]
    request = SearchRequest.from_params({"q": ["harbour"], "collapse": ["0"]}, Limits())
    before = _jsonl(client, "q=harbour&collapse=0")
    found = searcher.export(request)
    batches = found.batches(size=4)
    rows = next(batches)
    # Meanwhile an ingest adds a harbour story and changes one already exported and one not.
    changed = [
        {"id": "late", "title": "Harbour late", "body": "harbour harbour harbour late news."},
        {"id": before[0]["id"], "title": "Changed", "body": "harbour harbour harbour moved."},
        {"id": before[-1]["id"], "title": "Changed", "body": "harbour harbour harbour moved."},
    ]
    ingest(data_dir, write_jsonl(tmp_path / "late.jsonl", *changed))
    assert client.get("/api/search?q=late+harbour").get_json()["results"][0]["id"] == "late"
    for batch in batches:
        rows += batch
    assert rows == before  # the version it began with, to the last row
    assert "Changed" in {row["title"] for row in _jsonl(client, "q=harbour&collapse=0")}


def test_a_cursor_after_the_index_changed_is_a_409_that_says_to_start_again(tmp_path):
    data_dir = tmp_path / "index"
    ingest(data_dir, DEMO / "text")
    client = create_app({"INDEX_DIR": str(data_dir)}).test_client()
    first = client.get("/api/search?per_page=2").get_json()
    cursor = first["next_cursor"]
    assert client.get(f"/api/search?per_page=2&cursor={cursor}").status_code == 200
    late = {"id": "late", "title": "Late story", "body": "A late story about the harbour."}
    ingest(data_dir, write_jsonl(tmp_path / "late.jsonl", late))
    response = client.get(f"/api/search?per_page=2&cursor={cursor}")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "index_changed" and error["param"] == "cursor"
    assert "the index changed since this cursor was made" in error["message"]
    assert "start again from the first page" in error["message"]
    # A fresh first page gives a cursor that works again.
    fresh = client.get("/api/search?per_page=2").get_json()["next_cursor"]
    assert client.get(f"/api/search?per_page=2&cursor={fresh}").status_code == 200


def test_a_cursor_belongs_to_its_search(harbour):
    _, client = harbour
    cursor = client.get("/api/search?q=harbour&per_page=3").get_json()["next_cursor"]
    same = client.get(f"/api/search?q=harbour&per_page=9&explain=1&cursor={cursor}")
    assert same.status_code == 200  # (page size and explanations may change)
    same = client.get(f"/api/search?q=harbour&bucket=year&cursor={cursor}")
    assert same.status_code == 200  # (and the timeline's unit: the results are the same)
    for other in ("q=strike", "q=harbour&sort=newest", "q=harbour&collapse=0", "q=harbour&topic=x"):
        response = client.get(f"/api/search?{other}&cursor={cursor}")
        assert response.status_code == 400, other
        assert "cursor was made for another search" in response.get_json()["error"]["message"]


def test_the_last_page_has_no_next_cursor(harbour):
    _, client = harbour
    body = client.get("/api/search?q=dock+strike+board&per_page=100").get_json()
    assert len(body["results"]) == body["stories"] and body["next_cursor"] is None
    assert client.get("/api/search?q=zzzznothing").get_json()["next_cursor"] is None


def test_search_export_writes_the_same_rows_from_the_command_line(harbour, tmp_path):
    data_dir, client = harbour
    result = run_cli("export", "harbour", "--format", "jsonl", "--no-collapse", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines == _jsonl(client, "q=harbour&collapse=0")
    target = tmp_path / "out.csv"
    args = ["export", "harbour", "--sort", "newest", "--topic", "Ports", "--snippets"]
    result = run_cli(*args, "--from", "2026-02-05", "-o", str(target), data_dir=data_dir)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"), newline="")))
    web = client.get("/api/export?q=harbour&sort=newest&topic=Ports&snippets=1&from=2026-02-05")
    assert rows == list(csv.DictReader(io.StringIO(web.get_data(as_text=True), newline="")))
    assert f"{len(rows)} results written to {target}" in result.stderr
    everything = run_cli("export", "", data_dir=data_dir)
    total = client.get("/api/search").get_json()["stories"]
    assert len(list(csv.DictReader(io.StringIO(everything.stdout)))) == total
    bad = run_cli("export", "NOT NOT NOT harbour", data_dir=data_dir)
    assert bad.exit_code == 1 and "could not understand" in bad.output


def test_search_export_ranks_with_the_operators_feedback_setting(harbour, monkeypatch):
    # SEARCH_FEEDBACK changes the scores (and so the order) of /api/search: the command's
    # rows are those of an app started with the same setting.
    data_dir, _ = harbour
    monkeypatch.setenv("SEARCH_FEEDBACK", "0")
    app = create_app({"TESTING": True, "INDEX_DIR": str(data_dir), "MAX_DEPTH": DEPTH})
    web = _jsonl(app.test_client(), "q=harbour+strike&collapse=0")
    assert web != _jsonl(harbour[1], "q=harbour+strike&collapse=0")  # (the setting tells)
    result = run_cli(
        "export", "harbour strike", "--format", "jsonl", "--no-collapse", data_dir=data_dir
    )
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == web
    monkeypatch.setenv("SEARCH_FEEDBACK", "lots")
    bad = run_cli("export", "harbour", data_dir=data_dir)
    assert bad.exit_code == 1 and "SEARCH_FEEDBACK must be a number" in bad.output


def test_the_results_page_links_the_export_of_its_search(harbour):
    _, client = harbour
    page = client.get("/?q=harbour&sort=newest&topic=Ports&collapse=0").get_data(as_text=True)
    links = re.findall(r'<a href="(/api/export\?[^"]+)" download>(CSV|JSON Lines)</a>', page)
    assert [name for _, name in links] == ["CSV", "JSON Lines"]
    url = html.unescape(links[1][0])
    assert parse_qs(urlsplit(url).query) == {
        "q": ["harbour"],
        "topic": ["Ports"],
        "sort": ["newest"],
        "collapse": ["0"],
        "format": ["jsonl"],
    }
    rows = [json.loads(line) for line in client.get(url).get_data(as_text=True).splitlines()]
    shown = list(dict.fromkeys(re.findall(r'href="/article/([^"?]+)\?back=', page)))
    assert len(shown) == 10  # (a page of results)
    assert [row["id"] for row in rows[: len(shown)]] == shown
    assert 'class="export"' not in client.get("/?q=zzzznothing").get_data(as_text=True)


def test_export_and_cursor_are_documented_where_users_look(harbour):
    _, client = harbour
    readme = (ROOT / "README.md").read_text()
    help_page = client.get("/help").get_data(as_text=True)
    for name in (*formats.PARAMS, "cursor", "next_cursor", "index_changed", "/api/export"):
        assert f"`{name}`" in readme or f"`{name}=" in readme, name
        assert f"<code>{name}" in help_page or f">{name}<" in help_page, name
    assert f"lists joined by `{formats.LIST_SEPARATOR.strip()}`" in readme.replace("` | `", "`|`")
    usage = readme[readme.index('search export "TEXT"') :][:400]
    for option in ("--format", "--sort", "--output", "--topic", "--person", "--source"):
        assert option in usage, option
    for option in ("--from", "--to", "--story", "--no-collapse", "--snippets"):
        assert option in usage, option
    assert "export" in run_cli("--help").output


def test_an_export_is_made_in_turns_with_other_requests(harbour, monkeypatch):
    """The process computes one request at a time (web._one_at_a_time): an export makes each
    part in its turn, and lets other requests through between parts."""
    _, client = harbour
    turn = client.application.extensions["turn"]

    def free() -> bool:
        """Whether another thread (another request) could take the turn now."""
        taken = []

        def take() -> None:
            taken.append(turn.acquire(blocking=False))
            if taken[0]:
                turn.release()

        thread = threading.Thread(target=take)
        thread.start()
        thread.join()
        return taken[0]

    made, between = [], []
    encode = formats.encode

    def watched(*args):
        for part in encode(*args):
            made.append(free())
            yield part

    monkeypatch.setattr(engine_export, "BATCH", 5)
    monkeypatch.setattr(formats, "encode", watched)
    response = client.get("/api/export?q=harbour&format=jsonl", buffered=False)
    rows = 0
    for part in response.response:
        between.append(free())
        rows += part.count(b"\n")
    response.close()
    assert rows == int(response.headers["X-Total-Count"]) > 5 * 4
    assert len(made) == len(between) > 4
    assert not any(made) and all(between)
