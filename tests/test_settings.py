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
