"""The command line as users meet it: typos, junk input, faults, progress and the version."""

from __future__ import annotations

import functools
import importlib.metadata
import io
import json
import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from search import pipeline
from search.cli import collect
from search.generations import live_generation
from search.progress import BYTES, ProgressLine, Step, describe
from search.sources import find_files
from search.store import STORE_FILE
from tests.conftest import DEMO, ingest, run_cli, write_jsonl
from tests.test_faults import free_port, get, search_command
from web import create_app

# --- a mistyped data folder -------------------------------------------------------------------

COMMANDS_THAT_NEED_A_DATA_FOLDER = [("stats",), ("reindex",), ("query", "energy"), ("serve",)]


@pytest.mark.parametrize("args", COMMANDS_THAT_NEED_A_DATA_FOLDER)
def test_a_missing_data_folder_is_an_error_naming_it_and_nothing_is_made(tmp_path, args):
    typo = tmp_path / "idnex"
    result = run_cli(*args, data_dir=typo)
    assert result.exit_code == 1
    assert f"there is no data folder {typo}" in result.output
    assert "search ingest" in result.output  # how to make one
    assert not typo.exists()


@pytest.mark.parametrize("args", COMMANDS_THAT_NEED_A_DATA_FOLDER)
def test_a_folder_that_is_not_a_data_folder_is_an_error_and_stays_empty(tmp_path, args):
    folder = tmp_path / "photos"
    folder.mkdir()
    result = run_cli(*args, data_dir=folder)
    assert result.exit_code == 1
    assert f"{folder} is not a data folder" in result.output
    assert list(folder.iterdir()) == []


def test_ingest_makes_the_data_folder(tmp_path):
    data_dir = tmp_path / "new" / "index"
    ingest(data_dir, DEMO / "text")
    assert run_cli("stats", data_dir=data_dir).exit_code == 0


# --- the version and an empty query ----------------------------------------------------------


def test_version_is_the_installed_distributions():
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"search {importlib.metadata.version('news-search')}"


def test_an_empty_query_is_a_usage_error(tmp_path):
    data_dir = tmp_path / "index"
    ingest(data_dir, DEMO / "text")
    for text in ("", "   "):
        result = run_cli("query", text, data_dir=data_dir)
        assert result.exit_code == 2
        assert "give the words to search for" in result.output
        assert "score None" not in result.output


# --- junk input -------------------------------------------------------------------------------

NO_STORY = "This is not Reuters SGML.\n"
UNCLOSED = '<REUTERS NEWID="5"><TEXT><TITLE>CUT OFF</TITLE><BODY>The story stops'


@pytest.mark.parametrize(
    ("content", "reason"),
    [(NO_STORY, "no <REUTERS> story in it"), (UNCLOSED, "1 <REUTERS> without an end")],
)
def test_clean_of_a_malformed_sgm_is_an_error_with_the_reason(tmp_path, content, reason):
    path = tmp_path / "broken.sgm"
    path.write_text(content)
    result = run_cli("clean", str(path))
    assert result.exit_code == 1
    assert f"{path}: " in result.output and reason in result.output


def test_ingest_counts_malformed_sgm_files_as_failed(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "none.sgm").write_text(NO_STORY)
    (tmp_path / "in" / "cut.sgm").write_text(UNCLOSED)
    result = run_cli("ingest", str(tmp_path / "in"), data_dir=tmp_path / "index")
    assert result.exit_code == 1
    assert "skipped 0 without text, failed 2" in result.output
    assert "failed " + str(tmp_path / "in" / "none.sgm") in result.output
    assert "failed " + str(tmp_path / "in" / "cut.sgm") in result.output


def random_bytes(size: int, seed: int = 19) -> bytes:
    return random.Random(seed).randbytes(size)


def test_binary_text_files_are_skipped_and_latin1_text_is_read(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "noise.txt").write_bytes(random_bytes(3000))
    # Random bytes without a NUL: the share of control bytes tells them from text.
    (folder / "controls.txt").write_bytes(random_bytes(3000).replace(b"\0", b"a"))
    (folder / "café.txt").write_bytes(
        "Café owners fear tourism slump\n\nThe owners of cafés in Genève said the "
        "season began badly, with fewer visitors from abroad.\n".encode("latin-1")
    )
    data_dir = tmp_path / "index"
    result = run_cli("ingest", str(folder), data_dir=data_dir)
    assert result.exit_code == 0, result.output
    assert "added 1," in result.output and "skipped 2 without text, failed 0" in result.output
    assert f"skipped {folder / 'noise.txt'}: binary data, not text" in result.output
    assert f"skipped {folder / 'controls.txt'}: binary data, not text" in result.output
    found = json.loads(run_cli("query", "genève", "--json", data_dir=data_dir).output)
    assert [hit["title"] for hit in found["results"]] == ["Café owners fear tourism slump"]


def write_junk(folder: Path) -> Path:
    """Files that set off other libraries' warnings: Beautiful Soup's encoding guesser and its
    "looks like a URL" warning, trafilatura's "empty HTML tree" errors, and plain garbage."""
    folder.mkdir()
    (folder / "address.html").write_text("https://example.com/not-a-page")
    (folder / "empty.html").write_text("<html><body></body></html>")
    # Bytes that no 8-bit encoding Beautiful Soup tries decodes in full.
    (folder / "odd.html").write_bytes(b"<p>" + bytes(range(0x80, 0x100)) * 3 + b"\x81\x8d</p>")
    (folder / "noise.txt").write_bytes(random_bytes(3000))
    (folder / "empty.txt").write_text("")
    (folder / "none.sgm").write_text(NO_STORY)
    (folder / "lines.jsonl").write_text("not json\n")
    return folder


def test_ingest_of_junk_says_only_our_summary_by_default(tmp_path):
    junk = write_junk(tmp_path / "junk")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEARCH_")}

    def run(*options: str) -> subprocess.CompletedProcess:
        data_dir = tmp_path / f"index{len(options)}"
        command = search_command(*options, "ingest", str(junk), "--index-dir", str(data_dir))
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)

    quiet = run()
    assert quiet.returncode == 1  # the .sgm and the .jsonl failed
    assert quiet.stdout.startswith("added 0, updated 0, unchanged 0, skipped 5 without text")
    assert len(quiet.stdout.splitlines()) == 1
    # Only our own list of what was passed over, one line per input and why.
    lines = quiet.stderr.splitlines()
    assert len(lines) == 7, quiet.stderr
    assert all(line.startswith(("  skipped ", "  failed ")) for line in lines), quiet.stderr
    # The libraries' own words are there for whoever asks with -v.
    verbose = run("-v")
    assert "trafilatura" in verbose.stderr and "bs4.dammit" in verbose.stderr


# --- progress ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_shows_articles_rate_and_time_left_per_phase():
    clock, out = FakeClock(), io.StringIO()
    line = ProgressLine(out, tty=True, clock=clock)
    line(Step("reading", 0, 0, 40_000_000, BYTES))
    clock.now += 10
    line(Step("reading", 150_000, 10_000_000, 40_000_000, BYTES))
    clock.now += 1
    line(Step("indexing", 0, 0, 300_000))
    clock.now += 20
    line(Step("indexing", 100_000, 100_000, 300_000))
    line.finish()
    # Each phase's line is rewritten in place, and ended when the next phase begins.
    assert out.getvalue().split("\r\x1b[2K") == [
        "",
        "reading: 0 articles (0.0 MB of 40.0 MB)",
        "reading: 150,000 articles (10.0 MB of 40.0 MB), 15,000 articles/s, 0:30 left\n",
        "indexing: 0 articles (0%)",
        "indexing: 100,000 articles (33%), 5,000 articles/s, 0:40 left\n",
    ]


def test_progress_off_a_terminal_is_a_line_now_and_then():
    clock, out = FakeClock(), io.StringIO()
    line = ProgressLine(out, tty=False, clock=clock, interval=30)
    for n in range(101):
        line(Step("indexing", n, n, 100))
        clock.now += 1
    line.finish()
    assert out.getvalue().splitlines() == [
        "indexing: 30 articles (30%), 1 articles/s, 1:10 left",
        "indexing: 60 articles (60%), 1 articles/s, 0:40 left",
        "indexing: 90 articles (90%), 1 articles/s, 0:10 left",
    ]


@pytest.mark.parametrize("quiet", [False, True])
def test_quiet_shows_no_progress(tmp_path, monkeypatch, quiet):
    # (a line for every step, off a terminal, as a long ingest would show now and then)
    monkeypatch.setattr(collect, "ProgressLine", functools.partial(ProgressLine, interval=0))
    feed = write_jsonl(tmp_path / "feed.jsonl", {"id": "a", "title": "Tide", "body": "Harbour."})
    args = ["-q"] * quiet + ["ingest", str(feed)]
    result = run_cli(*args, data_dir=tmp_path / "index")
    assert result.exit_code == 0
    assert ("reading: 1 articles" in result.stderr) is not quiet
    assert ("indexing: " in result.stderr) is not quiet


def test_a_status_line_is_shown_at_once_then_every_interval():
    # (the crawl's status line: off a terminal, the first at once, then one every 5 s at most)
    clock, out = FakeClock(), io.StringIO()
    line = ProgressLine(out, tty=False, clock=clock, interval=5)
    for n in range(12):
        line.show(f"fetched {n}")
        clock.now += 1
    line.show("fetched 99", force=True)
    assert out.getvalue().splitlines() == ["fetched 0", "fetched 5", "fetched 10", "fetched 99"]


def test_describe_without_a_total_or_time():
    assert describe(Step("reading", 7), 0.0) == "reading: 7 articles"


def test_ingest_and_reindex_report_articles_of_one_large_file(tmp_path):
    articles = [{"id": f"a{n}", "title": f"Story {n}", "body": "Harbour news."} for n in range(30)]
    feed = write_jsonl(tmp_path / "feed.jsonl", *articles)
    files, _ = find_files([feed])
    steps: list[Step] = []
    data_dir = tmp_path / "index"
    pipeline.ingest(files, data_dir, steps.append)
    reading = [s for s in steps if s.phase == "reading"]
    assert [s.articles for s in reading] == list(range(1, 31))  # articles, not files
    assert reading[-1].done == reading[-1].total == feed.stat().st_size
    assert 0 < reading[0].done < reading[1].done  # bytes of the one file, article by article
    indexing = [s for s in steps if s.phase == "indexing"]
    assert indexing[0].articles == 0  # the phase's start, before the first article is written
    assert indexing[-1].articles == indexing[-1].total == 30
    steps.clear()
    pipeline.reindex(data_dir, progress=steps.append)
    assert {s.phase for s in steps} == {"indexing"}
    assert steps[-1].done == steps[-1].total == 30


# --- a missing live generation and a damaged store ---------------------------------------------


@pytest.fixture
def small_dir(tmp_path) -> Path:
    data_dir = tmp_path / "index"
    ingest(data_dir, DEMO / "text")
    return data_dir


def test_reindex_without_a_corpus_store_keeps_the_live_index(small_dir):
    # As the advice for a damaged store has it: moved aside, to ingest again. A reindex then
    # has nothing to rebuild from, and must not make an empty generation live.
    live = live_generation(small_dir)
    (small_dir / STORE_FILE).rename(small_dir.parent / "damaged.sqlite3")
    result = run_cli("reindex", data_dir=small_dir)
    assert result.exit_code == 1
    assert f"there is no corpus store in {small_dir}" in result.output
    assert live_generation(small_dir) == live and not (small_dir / STORE_FILE).exists()
    assert "1. " in run_cli("query", "energy", data_dir=small_dir).output
    # Looking at the folder makes no store either (an empty one would let reindex through).
    result = run_cli("stats", data_dir=small_dir)
    assert result.exit_code == 0 and "articles: no corpus store" in result.output
    assert f"live generation: {live.name}" in result.output
    assert not (small_dir / STORE_FILE).exists()


def test_a_missing_live_generation_is_named_with_its_fix(small_dir):
    shutil.rmtree(live_generation(small_dir).path)
    for args in (("query", "energy"), ("stats",)):
        result = run_cli(*args, data_dir=small_dir)
        assert result.exit_code == 1
        assert "the live index generation gen-000001 is missing" in result.output
        assert "run `search reindex`" in result.output
    assert run_cli("reindex", data_dir=small_dir).exit_code == 0
    assert run_cli("query", "energy", data_dir=small_dir).exit_code == 0


def test_a_missing_live_generation_is_a_503_with_the_reason(small_dir):
    client = create_app({"TESTING": True, "INDEX_DIR": str(small_dir)}).test_client()
    assert client.get("/api/health").status_code == 200
    shutil.rmtree(live_generation(small_dir).path)
    health = client.get("/api/health")
    assert health.status_code == 503
    assert health.json["status"] == "unavailable"
    assert "generation gen-000001 is missing" in health.json["reason"]
    assert "search reindex" in health.json["reason"]
    for url in ("/api/search?q=energy", "/?q=energy", "/api/suggest?q=en"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert "generation gen-000001 is missing" in response.get_data(as_text=True)
        assert str(small_dir) not in response.get_data(as_text=True)


def damage(path: Path, header: bool) -> None:
    """Overwrite the SQLite header (not a database any more) or the pages after it."""
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(0 if header else 4096)
        handle.write(random_bytes(4096 if header else size - 8192, seed=7))


@pytest.mark.parametrize("header", [True, False], ids=["not-a-database", "malformed"])
def test_a_damaged_store_is_named_with_what_to_do(small_dir, tmp_path, header):
    damage(small_dir / STORE_FILE, header)
    feed = write_jsonl(tmp_path / "one.jsonl", {"id": "x", "title": "Harbour", "body": "News."})
    for args in (("stats",), ("ingest", str(feed)), ("reindex",)):
        result = run_cli(*args, data_dir=small_dir)  # a traceback would raise here
        assert result.exit_code == 1, args
        assert f"the corpus store {small_dir / STORE_FILE} is damaged" in result.output
        assert "Restore it from a backup, or move it aside and ingest" in result.output
        assert "Free some space" not in result.output
    # The server reads the index, not the store: it goes on answering.
    client = create_app({"TESTING": True, "INDEX_DIR": str(small_dir)}).test_client()
    assert client.get("/api/search?q=energy").status_code == 200
    assert client.get("/api/health").status_code == 200


# --- serve --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_servers_share_no_control_socket(small_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["HOME"] = str(tmp_path)
    servers = []
    try:
        for _ in range(2):
            port = free_port()
            command = search_command("serve", "--port", str(port), "--workers", "1")
            process = subprocess.Popen(
                [*command, "--index-dir", str(small_dir)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers.append((process, f"http://127.0.0.1:{port}/api/health"))
        for _, url in servers:
            deadline = time.monotonic() + 60
            while True:
                try:
                    assert get(url)[0] == 200
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"{url} did not come up"
                    time.sleep(0.2)
        assert not (tmp_path / ".gunicorn").exists()
        servers[0][0].terminate()
        servers[0][0].wait(timeout=30)
        assert get(servers[1][1])[0] == 200
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(timeout=30)
