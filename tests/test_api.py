"""The JSON API as a program meets it: no server paths, paging, highlighted titles, CORS."""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from search.request import SearchRequest
from tests.conftest import DEMO, ingest, write_jsonl
from web import create_app

# No server paths --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_files(tmp_path_factory) -> Path:
    """A temporary folder: plain-text and HTML files (no canonical link) and their index."""
    folder = tmp_path_factory.mktemp("server-side")
    corpus = folder / "corpus"
    shutil.copytree(DEMO / "text" / "riverside-gazette", corpus / "riverside-gazette")
    (corpus / "pages").mkdir()
    (corpus / "pages" / "quay.html").write_text(
        "<html><head><title>Quay lighting renewed</title></head><body><article>"
        "<h1>Quay lighting renewed</h1>"
        + "<p>The harbour quay gets new lighting after a council vote on the levy.</p>" * 5
        + "</article></body></html>"
    )
    # An article stored with a file:// address by another program (or before this fix).
    write_jsonl(
        corpus / "feed.jsonl",
        {
            "url": (corpus / "elsewhere.txt").as_uri(),
            "title": "Quay levy explained",
            "body": "How the quay levy works, and who pays it.",
        },
    )
    ingest(folder / "index", corpus)
    return folder


def _everything(client) -> list[tuple[str, object]]:
    """Request every endpoint (results, articles, errors) and return (URL, response) pairs."""
    urls = [
        "/",
        "/?q=levy",
        "/?q=quay&sort=newest",
        "/help",
        "/opensearch.xml",
        "/api/suggest?q=le&format=opensearch",
        "/api/search?q=levy",
    ]
    urls += ["/api/search?q=quay", "/api/search", "/api/suggest?q=le", "/api/health"]
    urls += ["/?page=0", "/article/nope", "/api/article/nope", "/api/similar/nope", "/nope"]
    urls += ["/api/search?bogus=1", "/api/search?q=%FF", "/?q=%FF", "/api/nope"]
    urls += ["/api/export", "/api/export?format=jsonl&snippets=1", "/api/export?format=x"]
    ids = [hit["id"] for hit in client.get("/api/search?per_page=100").get_json()["results"]]
    assert len(ids) == 6
    for article_id in ids:
        urls += [f"/article/{article_id}", f"/api/article/{article_id}"]
        urls += [f"/api/similar/{article_id}"]
    return [(url, client.get(url)) for url in urls]


def _assert_no_path(folder: Path, url: str, response) -> None:
    text = response.get_data(as_text=True) + "\n" + str(response.headers)
    for path in {str(folder), str(folder.resolve())}:
        for form in (path, quote(path), path.replace("/", "\\/")):
            assert form not in text, f"{url} publishes {form}"
    assert "file://" not in text, url


def test_no_response_names_a_path_on_the_server(local_files):
    client = create_app({"INDEX_DIR": str(local_files / "index")}).test_client()
    for url, response in _everything(client):
        assert response.status_code in (200, 400, 404), url
        _assert_no_path(local_files, url, response)


def test_a_local_file_has_no_public_url_but_keeps_its_path_for_the_operator(local_files):
    app = create_app({"INDEX_DIR": str(local_files / "index")})
    client = app.test_client()
    results = client.get("/api/search?per_page=100").get_json()["results"]
    assert results and all(hit["url"] is None for hit in results)
    article = client.get(f"/api/article/{results[0]['id']}").get_json()
    assert article["url"] is None and article["title"] == results[0]["title"]
    # The store and the index keep where each article came from (re-ingest, reindex).
    stored = app.extensions["searcher"].article(results[0]["id"])
    assert stored.url.startswith("file://") and str(local_files.resolve()) in stored.url


def test_web_addresses_are_still_published(client):
    hit = client.get("/api/search?q=halvorsen").get_json()["results"][0]
    assert hit["url"].startswith("https://")
    assert client.get(f"/api/article/{hit['id']}").get_json()["url"] == hit["url"]


@pytest.mark.parametrize("stored", ["http://[oops/quay", "https://[::1/quay", "http://a]b/"])
def test_a_malformed_stored_url_is_not_published_and_breaks_no_search(tmp_path, stored):
    # A JSON Lines file may give any string as an article's url; one that urlsplit cannot
    # read must not turn every search that finds the article into a 500.
    feed = write_jsonl(
        tmp_path / "odd.jsonl", {"url": stored, "title": "Quay odd", "body": "The quay is odd."}
    )
    ingest(tmp_path / "index", feed)
    client = create_app({"INDEX_DIR": str(tmp_path / "index")}).test_client()
    for url in ("/?q=quay", "/api/search?q=quay"):
        assert client.get(url).status_code == 200, url
    hit = client.get("/api/search?q=quay").get_json()["results"][0]
    assert hit["url"] is None
    assert client.get(f"/api/article/{hit['id']}").get_json()["url"] is None
    assert client.get(f"/api/similar/{hit['id']}").status_code == 200


@pytest.mark.parametrize(
    "url", ["/", "/?q=levy", "/api/search?q=levy", "/api/health", "/article/x", "/api/article/x"]
)
def test_the_service_without_an_index_names_no_path(tmp_path, url):
    client = create_app({"INDEX_DIR": str(tmp_path / "index")}).test_client()
    response = client.get(url)
    assert response.status_code == 503
    assert "search ingest" in response.get_data(as_text=True)
    _assert_no_path(tmp_path, url, response)


# Paging -----------------------------------------------------------------------------------


def _params(link: str) -> dict[str, list[str]]:
    parts = urlsplit(link)
    assert parts.path == "/api/search" and not parts.netloc and not parts.scheme
    return parse_qs(parts.query)


def test_paging_metadata_and_links_walk_every_result(client):
    body = client.get("/api/search?q=energy&per_page=3&sort=newest").get_json()
    total = body["total"]
    assert total > 6 and body["pages"] == math.ceil(total / 3)
    assert (body["page"], body["per_page"], body["previous"]) == (1, 3, None)
    seen, link, page = [], "/api/search?q=energy&per_page=3&sort=newest", 0
    while link:
        body = client.get(link).get_json()
        page += 1
        assert body["page"] == page and body["request"]["page"] == page
        if page > 1:
            assert _params(body["previous"])["page"] == [str(page - 1)]
        seen += [hit["id"] for hit in body["results"]]
        link = body["next"]
        if link:
            params = _params(link)
            assert params == {
                "q": ["energy"],
                "per_page": ["3"],
                "sort": ["newest"],
                "page": [str(page + 1)],
            }
    assert page == body["pages"] and len(seen) == len(set(seen)) == total


def test_links_keep_repeated_filters_and_unicode(client):
    query = "/api/search?q=%C3%A9nergie+OR+energy&topic=Energy&topic=Wind+power&per_page=1"
    body = client.get(query).get_json()
    assert body["pages"] == body["total"] >= 2
    params = _params(body["next"])
    assert params["topic"] == ["Energy", "Wind power"] and params["q"] == ["énergie OR energy"]
    again = client.get(body["next"]).get_json()
    assert again["page"] == 2 and again["request"]["topic"] == ["Energy", "Wind power"]


def test_paging_past_the_end_links_back_to_the_last_page(client):
    body = client.get("/api/search?q=energy&per_page=3&page=99").get_json()
    assert body["results"] == [] and body["next"] is None and body["page"] == 99
    assert _params(body["previous"])["page"] == [str(body["pages"])]
    none = client.get("/api/search?q=zzzqqqxxx").get_json()
    assert none["total"] == 0 and none["pages"] == 0
    assert none["next"] is None and none["previous"] is None


def test_pages_stop_at_the_depth_limit(demo_dir):
    client = create_app({"INDEX_DIR": str(demo_dir), "MAX_DEPTH": 7}).test_client()
    body = client.get("/api/search?per_page=3&page=2").get_json()
    assert body["total"] >= 36 and body["pages"] == 2 and body["next"] is None
    assert client.get("/api/search?per_page=3&page=3").status_code == 400


# Highlighted title ------------------------------------------------------------------------


def test_json_has_the_highlighted_title_the_page_shows(client):
    hit = client.get("/api/search?q=halvorsen+shares").get_json()["results"][0]
    assert hit["title"].startswith("Halvorsen Logistics Shares Jump")
    assert (
        "<mark>Halvorsen</mark>" in hit["title_html"] and "<mark>Shares</mark>" in hit["title_html"]
    )
    assert hit["title_html"] in client.get("/?q=halvorsen+shares").get_data(as_text=True)
    plain = client.get("/api/search").get_json()["results"][0]
    assert "<mark>" not in plain["title_html"]


# Cross-origin calls -----------------------------------------------------------------------

CORS_HEADERS = ("Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Vary")
SITE = "https://news.example.org"


def _preflight(client, url: str = "/api/search?q=oil", origin: str = SITE):
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-requested-with",
    }
    return client.options(url, headers=headers)


def test_no_cross_origin_headers_by_default(client):
    for response in (
        client.get("/api/search?q=oil", headers={"Origin": SITE}),
        _preflight(client),
    ):
        assert not any(name in response.headers for name in CORS_HEADERS)


@pytest.fixture(scope="module")
def cors_client(demo_dir):
    origins = f"{SITE}, http://localhost:3000"
    return create_app({"INDEX_DIR": str(demo_dir), "CORS_ORIGINS": origins}).test_client()


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/api/search?q=oil", 200),
        ("/api/suggest?q=oi", 200),
        ("/api/health", 200),
        ("/api/search?page=0", 400),
        ("/api/article/nope", 404),
    ],
)
def test_allowed_origins_may_read_the_api(cors_client, url, status):
    for origin in (SITE, "http://localhost:3000"):
        response = cors_client.get(url, headers={"Origin": origin})
        assert response.status_code == status
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in response.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_other_origins_and_the_pages_get_no_permission(cors_client):
    other = cors_client.get("/api/search?q=oil", headers={"Origin": "https://evil.example"})
    assert other.status_code == 200 and "Access-Control-Allow-Origin" not in other.headers
    assert "Origin" in other.headers["Vary"]  # a cache must not hand one site's answer to another
    assert (
        "Access-Control-Allow-Origin"
        not in _preflight(cors_client, origin="https://x.example").headers
    )
    page = cors_client.get("/?q=oil", headers={"Origin": SITE})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_preflight_is_answered_for_allowed_origins(cors_client):
    response = _preflight(cors_client)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SITE
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "x-requested-with"
    assert int(response.headers["Access-Control-Max-Age"]) > 0


def test_any_origin_and_the_environment_variable(demo_dir, monkeypatch):
    monkeypatch.setenv("SEARCH_CORS_ORIGINS", "*")
    client = create_app({"INDEX_DIR": str(demo_dir)}).test_client()
    response = client.get("/api/search?q=oil", headers={"Origin": "https://anyone.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("value", ["news.example.org", "https://news.example.org/", "ftp://x.org"])
def test_a_malformed_origin_stops_the_app_with_a_message(demo_dir, value):
    with pytest.raises(ValueError, match="is not an origin"):
        create_app({"INDEX_DIR": str(demo_dir), "CORS_ORIGINS": value})


# Bytes that are not text ------------------------------------------------------------------

PARAMETERS = list(SearchRequest.SINGLE + SearchRequest.REPEATABLE)


@pytest.mark.parametrize("name", PARAMETERS)
@pytest.mark.parametrize("raw", ["%FF%FE", "oil%C3", "%ED%A0%80", "%C0%AF"])
def test_a_parameter_that_is_not_utf8_is_a_400_saying_so(client, name, raw):
    api = client.get(f"/api/search?{name}={raw}")
    assert api.status_code == 400
    error = api.get_json()["error"]
    assert (error["code"], error["param"]) == ("not_utf8", name)
    assert f"'{name}' is not text" in error["message"] and "UTF-8" in error["message"]
    page = client.get(f"/?{name}={raw}")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert "is not text" in text and raw not in text and "\ufffd" not in text


def test_unencoded_bytes_and_names_that_are_not_utf8(client):
    raw = client.get("/api/search", environ_overrides={"QUERY_STRING": "q=\xff\xfe"})
    assert raw.status_code == 400 and raw.get_json()["error"]["param"] == "q"
    assert client.get("/", environ_overrides={"QUERY_STRING": "q=\xff"}).status_code == 400
    name = client.get("/api/search?%FF=1").get_json()["error"]
    assert name["code"] == "not_utf8" and name["param"] is None
    suggest = client.get("/api/suggest?q=%FF").get_json()["error"]
    assert (suggest["code"], suggest["param"]) == ("not_utf8", "q")
    # Text that merely looks odd is still text.
    assert client.get("/api/search?q=%EF%BF%BD+%F0%9F%99%82").status_code == 200
