"""Every setting is documented once in the README table, with its real default."""

import re

import pytest

from search.settings import SETTINGS
from tests.conftest import ROOT, run_cli
from web import create_app

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_setting_is_documented_with_its_default(setting):
    row = re.search(rf"^\| `{setting.env}` \| `([^`]*)` \| (.+) \|$", README, re.M)
    assert row, f"{setting.env} is missing from the README's settings table"
    assert row.group(1) == str(setting.default)
    assert row.group(2) == setting.help


def test_environment_configures_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SEARCH_INDEX_DIR", str(tmp_path))
    monkeypatch.setenv("SEARCH_MAX_PER_PAGE", "7")
    app = create_app()
    assert app.config["INDEX_DIR"] == str(tmp_path) and app.config["MAX_PER_PAGE"] == 7
    response = app.test_client().get("/api/search?per_page=8")
    assert response.status_code == 400 and "from 1 to 7" in response.get_json()["error"]["message"]


def test_environment_bounds_the_query_command_as_it_bounds_the_app(monkeypatch, tmp_path):
    monkeypatch.setenv("SEARCH_MAX_PER_PAGE", "7")
    monkeypatch.setenv("SEARCH_MAX_QUERY_LENGTH", "20")
    too_many = run_cli("query", "harbour", "--limit", "8", data_dir=tmp_path)
    assert too_many.exit_code == 1 and "per_page must be from 1 to 7, not 8" in too_many.output
    too_long = run_cli("query", "x" * 21, data_dir=tmp_path)
    assert too_long.exit_code == 1 and "the limit is 20" in too_long.output


def _scores(client, q: str) -> dict[str, float]:
    body = client.get("/api/search", query_string={"q": q, "per_page": 20}).get_json()
    return {hit["id"]: hit["score"] for hit in body["results"]}


def test_feedback_setting_ranks_as_the_searcher_with_that_share(monkeypatch, demo_dir):
    from search.engine.scoring import Ranking
    from search.engine.searcher import Searcher
    from search.request import Limits, SearchRequest

    request = SearchRequest.from_params({"q": ["wind energy"], "per_page": ["20"]}, Limits())
    expected = {}
    for share in (0.0, 0.3):
        with Searcher(demo_dir, ranking=Ranking(feedback=share)) as searcher:
            expected[share] = {h.id: h.score for h in searcher.search(request).results}
    assert expected[0.0] != expected[0.3]  # (feedback changes this query's scores)
    assert Ranking().feedback == Ranking.from_settings().feedback == 0.3
    for share, raw in ((0.0, "0"), (0.3, None)):
        if raw is None:
            monkeypatch.delenv("SEARCH_FEEDBACK", raising=False)
        else:
            monkeypatch.setenv("SEARCH_FEEDBACK", raw)
        client = create_app({"TESTING": True, "INDEX_DIR": str(demo_dir)}).test_client()
        assert _scores(client, "wind energy") == expected[share]


@pytest.mark.parametrize("raw", ["1", "-0.1", "abc", "nan", "2"])
def test_a_feedback_share_out_of_range_is_a_clear_error(monkeypatch, tmp_path, raw):
    monkeypatch.setenv("SEARCH_FEEDBACK", raw)
    with pytest.raises(ValueError, match="SEARCH_FEEDBACK must be a number"):
        create_app({"INDEX_DIR": str(tmp_path)})
    result = run_cli("query", "harbour", data_dir=tmp_path)
    assert result.exit_code == 1 and "SEARCH_FEEDBACK must be a number" in result.output
