"""The JSON error shape every API error has, whatever raised it, and the page errors have."""

from __future__ import annotations

import re

import pytest

from search import errors as search_errors
from tests.conftest import ROOT
from web import create_app
from web.errors import CODES
from web.views import get_searcher


@pytest.mark.parametrize(
    ("method", "url", "status", "code", "param", "says"),
    [
        ("GET", "/api/search?page=0", 400, "bad_parameter", "page", "page"),
        ("GET", "/api/search?per_page=x", 400, "bad_parameter", "per_page", "whole number"),
        ("GET", "/api/search?sort=up", 400, "bad_parameter", "sort", "sort must be one of"),
        ("GET", "/api/search?from=2026-02-01&to=2026-01-01", 400, "bad_parameter", "from", "after"),
        ("GET", "/api/search?to=soon", 400, "bad_parameter", "to", "YYYY-MM-DD"),
        ("GET", "/api/search?recency=2", 400, "bad_parameter", "recency", "from 0 to 1"),
        ("GET", "/api/search?explain=yes", 400, "bad_parameter", "explain", "1 or 0"),
        ("GET", "/api/search?q=a&q=b", 400, "bad_parameter", "q", "only once"),
        ("GET", "/api/search?topic=%00", 400, "bad_parameter", "topic", "not a valid topic"),
        ("GET", "/api/search?bogus=1", 400, "unknown_parameter", "bogus", "unknown parameter"),
        ("GET", "/api/search?q=" + "x" * 1001, 400, "bad_query", "q", "the limit is 1000"),
        ("GET", "/api/search?q=oil%00", 400, "bad_query", "q", "NUL"),
        ("GET", "/api/search?q=NOT+NOT+NOT+oil", 400, "bad_query", "q", "could not understand"),
        ("GET", "/api/search?q=date:%22%22", 400, "bad_query", "q", "could not understand"),
        ("GET", "/api/search?q=%FF", 400, "not_utf8", "q", "'q' is not text"),
        ("GET", "/api/search?person=%C3", 400, "not_utf8", "person", "'person' is not text"),
        ("GET", "/api/suggest?limit=99", 400, "bad_parameter", "limit", "limit must be"),
        ("GET", "/api/suggest?q=", 400, "bad_parameter", "q", "q must be"),
        ("GET", "/api/suggest?q=a&x=1", 400, "unknown_parameter", "x", "unknown parameter"),
        ("GET", "/api/article/nope", 404, "not_found", None, "no article with id 'nope'"),
        ("GET", "/api/similar/nope", 404, "not_found", None, "no article with id 'nope'"),
        ("GET", "/api/no/such/thing", 404, "not_found", None, "not found"),
        ("POST", "/api/search", 405, "method_not_allowed", None, "not allowed"),
    ],
)
def test_api_errors_are_json_with_status_code_message_and_param(
    client, method, url, status, code, param, says
):
    response = client.open(url, method=method)
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.get_json()
    message = body["error"]["message"]
    assert body == {"error": {"status": status, "code": code, "message": message, "param": param}}
    assert says in message
    assert CODES[code][0] == status


def test_an_oversized_body_is_too_large(client):
    error = client.get("/api/search?q=oil", data=b"x" * 70_000).get_json()["error"]
    assert (error["status"], error["code"], error["param"]) == (413, "too_large", None)


def test_unexpected_errors_are_logged_and_answered_without_detail(demo_dir, monkeypatch, caplog):
    app = create_app({"INDEX_DIR": str(demo_dir)})

    def fail() -> None:
        raise RuntimeError("a detail the client must not see")

    with app.app_context():
        monkeypatch.setattr(get_searcher(), "health", fail)
    response = app.test_client().get("/api/health")
    assert response.status_code == 500
    message = "Something went wrong on our side; it has been logged."
    assert response.get_json() == {
        "error": {"status": 500, "code": "internal", "message": message, "param": None}
    }
    assert "a detail the client must not see" in caplog.text


def test_service_errors_are_json_under_the_api_and_a_page_elsewhere(tmp_path):
    client = create_app({"INDEX_DIR": str(tmp_path / "none")}).test_client()
    response = client.get("/api/search?q=x")
    body = response.get_json()
    assert response.status_code == 503 and set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "param"}
    assert body["error"]["status"] == 503 and body["error"]["code"] == "index_unavailable"
    page = client.get("/?q=x")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "No index yet" in page.get_data(as_text=True)


def test_every_code_the_search_package_raises_is_listed():
    raised = {v for k, v in vars(search_errors).items() if k.isupper() and isinstance(v, str)}
    assert len(raised) == 5 and raised <= set(CODES)


@pytest.mark.parametrize("code", sorted(CODES))
def test_every_error_code_is_documented_with_its_status_and_meaning(code):
    readme = (ROOT / "README.md").read_text()
    row = re.search(rf"^ *\| `{code}` \| ([^|]+) \| (.+) \|$", readme, re.M)
    assert row, f"{code} is missing from the README's table of error codes"
    status, meaning = CODES[code]
    assert row.group(1) == (str(status) if status else "any other")
    assert row.group(2) == meaning[0].upper() + meaning[1:] + "."
