"""The JSON error shape every API error has, whatever raised it, and the page errors have."""

from __future__ import annotations

import pytest

from web import create_app
from web.views import get_searcher


@pytest.mark.parametrize(
    ("method", "url", "status", "says"),
    [
        ("GET", "/api/search?page=0", 400, "page"),
        ("GET", "/api/search?bogus=1", 400, "unknown parameter 'bogus'"),
        ("GET", "/api/suggest?limit=99", 400, "limit must be"),
        ("GET", "/api/article/nope", 404, "no article with id 'nope'"),
        ("GET", "/api/similar/nope", 404, "no article with id 'nope'"),
        ("GET", "/api/no/such/thing", 404, "not found"),
        ("POST", "/api/search", 405, "not allowed"),
    ],
)
def test_api_errors_are_json_with_status_and_message_only(client, method, url, status, says):
    response = client.open(url, method=method)
    assert response.status_code == status and response.mimetype == "application/json"
    body = response.get_json()
    assert body == {"error": {"status": status, "message": body["error"]["message"]}}
    assert says in body["error"]["message"]


def test_unexpected_errors_are_logged_and_answered_without_detail(demo_dir, monkeypatch, caplog):
    app = create_app({"INDEX_DIR": str(demo_dir)})

    def fail() -> None:
        raise RuntimeError("a detail the client must not see")

    with app.app_context():
        monkeypatch.setattr(get_searcher(), "health", fail)
    response = app.test_client().get("/api/health")
    assert response.status_code == 500
    message = "Something went wrong on our side; it has been logged."
    assert response.get_json() == {"error": {"status": 500, "message": message}}
    assert "a detail the client must not see" in caplog.text


def test_service_errors_are_json_under_the_api_and_a_page_elsewhere(tmp_path):
    client = create_app({"INDEX_DIR": str(tmp_path / "none")}).test_client()
    response = client.get("/api/search?q=x")
    body = response.get_json()
    assert response.status_code == 503 and set(body) == {"error"}
    assert set(body["error"]) == {"status", "message"} and body["error"]["status"] == 503
    page = client.get("/?q=x")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "No index yet" in page.get_data(as_text=True)
