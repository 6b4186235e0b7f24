"""Shared fixtures: a real data folder (SQLite store, Whoosh generations) per test, the app."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from search.cli import main
from web import create_app

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
SHARED_DATA = Path(os.environ.get("SEARCH_DATA_DIR", ROOT.parent / "shared" / "data"))
SEED = SHARED_DATA / "seed" / "oic-security-partnership.txt"
REUTERS = SHARED_DATA / "reuters21578"


def need_shared(path: Path) -> Path:
    """Skip the test, with the reason, when the shared corpora are not on this machine."""
    if not path.exists():
        pytest.skip(f"{path} is absent (set SEARCH_DATA_DIR to the shared data folder)")
    return path


def run_cli(*args: str, data_dir: Path | None = None):
    """Run the `search` command in-process; returns click's Result."""
    argv = list(args) + (["--index-dir", str(data_dir)] if data_dir else [])
    return CliRunner().invoke(main, argv, catch_exceptions=False)


def ingest(data_dir: Path, *paths: Path | str):
    """Ingest ``paths`` into ``data_dir`` and assert that nothing failed."""
    result = run_cli("ingest", *map(str, paths), data_dir=data_dir)
    assert result.exit_code == 0, result.output
    return result


def write_jsonl(path: Path, *articles: dict) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "index"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    """A data folder holding the demo corpus and, when present, the seed article (read-only use)."""
    folder = tmp_path_factory.mktemp("demo") / "index"
    paths = [DEMO] + ([SEED] if SEED.exists() else [])
    ingest(folder, *paths)
    return folder


@pytest.fixture(scope="module")
def client(demo_dir: Path):
    app = create_app({"TESTING": True, "INDEX_DIR": str(demo_dir)})
    return app.test_client()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the browser tests (Debian's, driven by Playwright)."""
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM_FLAGS, chromium_path

    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A new tab of the browser, closed after the test."""
    page = browser.new_page()
    yield page
    page.close()
