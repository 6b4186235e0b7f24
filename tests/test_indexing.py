"""Ingest, the corpus store and index generations: updates not duplicates, atomic reindex."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import pickle
import random
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path

import pytest
from whoosh import fields
from whoosh import index as whoosh_index
from whoosh import query as whoosh_query
from whoosh import writing as whoosh_writing

from search.article import Article
from search.engine import postings, schema, scoring, writer
from search.engine.bitsets import docnums
from search.engine.searcher import Searcher
from search.engine.segments import CODEC, GenerationWriter
from search.errors import IndexingFailed, WriterBusy
from search.generations import generations_dir, list_generations, live_generation, write_lock
from search.request import Limits, SearchRequest
from search.store import CorpusStore
from tests.conftest import DEMO, ROOT, ingest, run_cli, write_jsonl
from web import create_app


def article(n: int, **fields) -> dict:
    return {"id": f"a{n}", "title": f"Story {n} about harbours", "body": f"Body {n}.", **fields}


def total(data_dir, q: str) -> int:
    request = SearchRequest.from_params({"q": [q]}, Limits())
    return Searcher(data_dir).search(request).total


def test_ingest_reports_and_reingest_updates_never_duplicates(data_dir, tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", article(1), article(2))
    assert "added 2, updated 0, unchanged 0" in ingest(data_dir, feed).output
    assert "added 0, updated 0, unchanged 2" in ingest(data_dir, feed).output
    write_jsonl(feed, article(1, title="Story 1 about ferries"), article(2))
    assert "added 0, updated 1, unchanged 1" in ingest(data_dir, feed).output
    with CorpusStore(data_dir) as store:
        assert store.count() == 2 and store.count_pending() == 0
    assert total(data_dir, "ferries") == 1
    assert total(data_dir, "harbours") == 1
    assert total(data_dir, "") == 2


def test_ingest_reports_failures_and_goes_on(data_dir, tmp_path):
    feed = tmp_path / "mixed.jsonl"
    feed.write_text(json.dumps(article(1)) + "\n{broken\n" + json.dumps(article(2)) + "\n")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")
    result = run_cli(
        "ingest", str(feed), str(tmp_path / "notes.pdf"), "missing.txt", data_dir=data_dir
    )
    assert result.exit_code == 1
    assert "added 2" in result.output and "failed 3" in result.output
    assert "mixed.jsonl:2: invalid JSON" in result.output
    assert "unsupported file type" in result.output and "no such file or folder" in result.output


def test_ingest_of_a_folder_passes_over_other_files(data_dir):
    result = ingest(data_dir, DEMO)
    assert "added 36" in result.output and "failed 0" in result.output


def test_reindex_builds_a_new_generation_and_switches(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1), article(2)))
    first = live_generation(data_dir)
    result = run_cli("reindex", data_dir=data_dir)
    assert result.exit_code == 0 and "2 articles" in result.output
    second = live_generation(data_dir)
    assert second.name > first.name
    assert total(data_dir, "harbours") == 2
    for _ in range(3):
        run_cli("reindex", data_dir=data_dir)
    # Old generations are pruned: the live one and its predecessor stay.
    assert len(list_generations(data_dir)) == 2


def test_text_that_spells_out_an_entity_survives_store_and_reindex(data_dir, tmp_path):
    # The input's entities are decoded once, on the way in; the stored text is then kept as
    # it is (decoding it again turned "&lt;b&gt;" into "<b>" on every read).
    raw = article(1, title="Tags &amp;lt;b&amp;gt; explained", body="Write &amp;amp; for &amp;.")
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", raw))
    for _ in range(2):
        with CorpusStore(data_dir) as store:
            stored = store.get("a1")
        found = Searcher(data_dir).article("a1")
        for kept in (stored, found):
            assert (kept.title, kept.body) == ("Tags &lt;b&gt; explained", "Write &amp; for &.")
        assert run_cli("reindex", data_dir=data_dir).exit_code == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_failed_reindex_leaves_the_live_generation_serving(
    data_dir, tmp_path, monkeypatch, workers
):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1), article(2)))
    monkeypatch.setattr(writer, "MIN_SHARE", 1)
    live = live_generation(data_dir)

    def broken():
        yield from CorpusStore(data_dir).articles()
        raise OSError("disk full")

    with pytest.raises(OSError), write_lock(data_dir, 1):
        writer.build_generation(data_dir, broken(), total=2, workers=workers)
    assert gc.isenabled()  # paused while the generation was written
    assert live_generation(data_dir) == live
    assert [g.name for g in list_generations(data_dir)] == [live.name]
    assert total(data_dir, "harbours") == 2
    assert not multiprocessing.active_children()


def test_half_built_generation_is_cleared_by_the_next_writer(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1)))
    debris = generations_dir(data_dir) / "gen-000099"
    debris.mkdir()
    (debris / "junk").write_text("half written")
    assert run_cli("reindex", data_dir=data_dir).exit_code == 0
    assert not debris.exists()
    assert total(data_dir, "harbours") == 1


def test_half_built_first_generation_is_cleared_by_the_next_ingest(data_dir, tmp_path):
    debris = generations_dir(data_dir) / "gen-000001"
    debris.mkdir(parents=True)
    (debris / "junk").write_text("half written by a killed first ingest")
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1)))
    assert len(list_generations(data_dir)) == 1 and not (debris / "junk").exists()
    assert total(data_dir, "harbours") == 1


def test_second_writer_gets_a_clear_error(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SEARCH_LOCK_TIMEOUT", "0.2")
    feed = write_jsonl(tmp_path / "a.jsonl", article(1))
    with write_lock(data_dir, 1):
        with pytest.raises(WriterBusy), write_lock(data_dir, 0.2):
            pass
        for args in (("ingest", str(feed)), ("reindex",)):
            result = run_cli(*args, data_dir=data_dir)
            assert result.exit_code == 1 and "another ingest or reindex" in result.output


def test_articles_left_pending_by_a_killed_ingest_are_indexed_next_time(data_dir, tmp_path):
    # As if an ingest died after storing its batch but before writing the index.
    with CorpusStore(data_dir) as store:
        from search.article import Article

        store.upsert([Article.from_dict(article(7))])
        assert store.count_pending() == 1
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", article(8)))
    assert total(data_dir, "harbours") == 2


def test_searcher_picks_up_a_new_generation_without_restart(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1)))
    searcher = Searcher(data_dir)
    request = SearchRequest.from_params({"q": ["harbours"]}, Limits())
    assert searcher.search(request).total == 1
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", article(2)))  # into the live generation
    assert searcher.search(request).total == 2
    run_cli("reindex", data_dir=data_dir)  # a new generation
    response = searcher.search(request)
    assert response.total == 2 and response.generation == live_generation(data_dir).name


def test_a_running_searcher_finds_an_updated_article_once_in_its_new_version(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1), article(2), article(3)))
    searcher = Searcher(data_dir)
    request = SearchRequest.from_params({"q": ["harbours"]}, Limits())
    assert searcher.search(request).total == 3
    changed = article(3, title="Story 3 about harbours and tides")
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", changed))  # an update in the live one
    response = searcher.search(request)
    assert sorted(hit.id for hit in response.results) == ["a1", "a2", "a3"]
    assert response.total == 3
    assert [h.title for h in response.results if h.id == "a3"] == [changed["title"]]
    tides = SearchRequest.from_params({"q": ["tides"]}, Limits())
    assert [hit.id for hit in searcher.search(tides).results] == ["a3"]


def test_the_cached_documents_of_a_bitset_cannot_be_changed_in_place(data_dir, tmp_path):
    # DocSets.docnums hands the same array to every caller (the facets, the timeline, the
    # newest matches, other threads): writing into it would change their answers.
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1), article(2), article(3)))
    with Searcher(data_dir) as searcher:
        request = SearchRequest.from_params({"q": ["harbours"]}, Limits())
        assert searcher.search(request).total == 3
        sets = searcher.view().sets
        docs = sets.docnums(sets.all)
        assert docs is sets.docnums(sets.all)
        with pytest.raises(ValueError, match="read-only"):
            docs[0] = 2


def test_web_keeps_answering_during_reindex(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", *(article(n) for n in range(60))))
    client = create_app({"INDEX_DIR": str(data_dir)}).test_client()
    answers: list[tuple[int, int, str]] = []
    stop = threading.Event()

    def query_loop():
        while not stop.is_set():
            response = client.get("/api/search?q=harbours")
            body = response.get_json()
            answers.append((response.status_code, body.get("total"), body.get("generation")))

    thread = threading.Thread(target=query_loop)
    thread.start()
    try:
        for _ in range(2):
            assert run_cli("reindex", data_dir=data_dir).exit_code == 0
    finally:
        stop.set()
        thread.join()
    assert answers and {(status, count) for status, count, _ in answers} == {(200, 60)}
    final = client.get("/api/search?q=harbours").get_json()["generation"]
    assert final == live_generation(data_dir).name


def test_store_survives_integrity_check(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1)))
    with sqlite3.connect(data_dir / "corpus.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_cli_clean_query_and_stats(data_dir, tmp_path):
    page = DEMO / "html" / "valleyscience" / "sodium-battery-lifespan-breakthrough.html"
    cleaned = run_cli("clean", str(page))
    assert cleaned.exit_code == 0
    assert json.loads(cleaned.output)["source"] == "Valley Science Wire"
    ingest(data_dir, DEMO)
    result = run_cli("query", "sodium battery", "--limit", "2", data_dir=data_dir)
    assert result.exit_code == 0 and "Sodium" in result.output
    as_json = json.loads(run_cli("query", "sodium", "--json", data_dir=data_dir).output)
    assert as_json["total"] >= 1
    stats = run_cli("stats", data_dir=data_dir).output
    assert "articles: 36" in stats and "Valley Science Wire: 6" in stats and "(live)" in stats
    bad = run_cli("query", "x" * 2000, data_dir=data_dir)
    assert bad.exit_code == 1 and "limit" in bad.output


def test_filter_values_may_contain_commas(data_dir, tmp_path):
    feed = write_jsonl(tmp_path / "a.jsonl", article(1, people=["Smith, John"], topics=["A, B"]))
    ingest(data_dir, feed)
    request = SearchRequest.from_params({"person": ["Smith, John"], "topic": ["A, B"]}, Limits())
    response = Searcher(data_dir).search(request)
    assert response.total == 1
    assert response.to_dict()["facets"]["people"] == [{"value": "Smith, John", "count": 1}]


def _segment_files(folder) -> dict[str, bytes]:
    """A one-segment index's files by what they hold (the segment's random name left out)."""
    files = {}
    for path in folder.iterdir():
        if path.name.startswith("MAIN_") and path.name != "MAIN_WRITELOCK":
            files[path.name.split(".", 1)[1]] = path.read_bytes()
    return files


def random_articles(count: int) -> list[Article]:
    rng = random.Random(7)
    words = "the oil price rose U.S. crude OPEC's output 3.5 pct Café of barrels talks".split()
    return [
        Article.from_dict(
            {
                "id": f"a{n}",
                "title": " ".join(rng.choices(words, k=rng.randint(1, 8))),
                "body": " ".join(rng.choices(words, k=rng.randint(0, 400))),
                "topics": ["oil", "gas", "trade"][: n % 4],
                "people": ["Wang Yi"] * (n % 2),
                "published": f"1987-0{n % 9 + 1}-1{n % 10}T10:00:00Z" if n % 5 else None,
                "source": f"site{n % 3}",
            }
        )
        for n in range(count)
    ]


def test_generation_writer_writes_what_whoosh_writes(tmp_path):
    """The fast writer of new generations, with its fast fields, writes byte for byte the files
    Whoosh's writer does with plain Whoosh fields (those an index saves)."""
    articles = random_articles(300)
    plain = pickle.loads(pickle.dumps(schema.create_schema()))
    assert type(plain[schema.BODY]) is fields.TEXT
    folders = {}
    for name, make_writer in (
        ("whoosh", lambda ix: ix.writer(compound=False, codec=CODEC)),
        ("fast", lambda ix: GenerationWriter(ix, schema.create_schema())),
    ):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        ix = whoosh_index.create_in(str(folders[name]), plain)
        segment_writer = make_writer(ix)
        for item in articles:
            segment_writer.add_document(**schema.article_document(item))
        segment_writer.commit()
    expected, written = _segment_files(folders["whoosh"]), _segment_files(folders["fast"])
    # (and its flat arrays, which test_flat_arrays_hold_what_whoosh_reads checks)
    assert set(written) == set(expected) | {postings.SUFFIX[1:]}
    assert {"pst", "trm", "_stored.col", "_body_len.col"} <= set(written)
    for name, data in expected.items():
        assert written[name] == data, name


def test_flat_arrays_hold_what_whoosh_reads(tmp_path):
    """A segment's flat arrays hold every term's postings, every field length and every date
    that Whoosh reads from the segment's own files."""
    ix = whoosh_index.create_in(str(tmp_path), schema.create_schema())
    segment_writer = GenerationWriter(ix, schema.create_schema())
    for item in random_articles(300):
        segment_writer.add_document(**schema.article_document(item))
    segment_writer.commit()
    with ix.reader() as reader:
        flat = postings.open_for(reader)
        assert flat is not None
        terms = 0
        for fieldname, termbytes in reader.all_terms():
            matcher, expected = reader.postings(fieldname, termbytes), []
            while matcher.is_active():
                expected.append((matcher.id(), matcher.weight()))
                matcher.next()
            ids, weights = flat.postings(fieldname, termbytes)
            assert list(zip(ids.tolist(), weights.tolist(), strict=True)) == expected
            terms += 1
        assert terms > 100
        assert not len(flat.postings(schema.BODY, b"absent")[0])
        for fieldname in (schema.TITLE, schema.BODY):
            lengths = [reader.doc_field_length(d, fieldname) or 0 for d in range(300)]
            assert flat.lengths(fieldname).tolist() == lengths
        column = reader.column_reader(schema.PUBLISHED)
        dates = [scoring.column_ticks(column[d]) for d in range(300)]
        assert flat.column(schema.PUBLISHED).tolist() == dates
        assert 0 in flat.column(schema.PUBLISHED).tolist()  # (undated articles)


def test_worker_processes_build_what_one_process_builds(tmp_path, monkeypatch):
    """A generation written by several processes, a segment each (more segments than workers
    here), holds the same documents in the same order and answers every search alike."""
    monkeypatch.setattr(writer, "MIN_SHARE", 10)
    monkeypatch.setattr(writer, "RUN_CHARS", 60_000)  # runs of about 60 articles
    monkeypatch.setattr(writer, "WRITER_MEMORY", 200_000)  # segments of about 25
    articles = random_articles(300)
    requests = [
        {"q": ["oil price"]},
        {"q": ['"crude output"'], "sort": ["newest"]},
        {"q": ["barrels"], "topic": ["gas"], "page": ["3"]},
        {"q": ["opec talks pct café"], "explain": ["1"]},
        {"q": [""]},
    ]
    built = []
    for workers in (1, 2):
        folder = tmp_path / f"workers-{workers}"
        with write_lock(folder, 1):
            generation, count = writer.build_generation(folder, articles, workers=workers)
        assert count == 300
        with whoosh_index.open_dir(str(generation.path)).searcher() as searcher:
            segments = len(searcher.reader().leaf_readers())
            stored = list(searcher.all_stored_fields())
        searcher = Searcher(folder)
        responses = []
        for params in requests:
            response = searcher.search(SearchRequest.from_params(params, Limits())).to_dict()
            del response["took_ms"]
            responses.append(response)
        lexicon = json.loads((generation.path / "lexicon.json").read_text())
        built.append((segments, stored, responses, lexicon))
    (one, *same_one), (many, *same_many) = built
    assert many > max(one, 8)  # runs of several segments each
    assert same_many == same_one
    assert [s["id"] for s in same_one[0]] == [a.id for a in articles]


class _Headline:
    """Not an article: it has a title and a body, nothing else."""

    title = body = ""


class _KillsItsReader(_Headline):
    """Ends the process that unpickles it."""

    def __reduce__(self):
        return os._exit, (3,)


class _TwoArgs(Exception):
    def __init__(self, code, detail):
        super().__init__(f"{code}: {detail}")  # pickles, but does not unpickle


def _raise_two_args():
    raise _TwoArgs("E42", "the feed is corrupt")


class _RaisesTwoArgs(_Headline):
    def __reduce__(self):
        return _raise_two_args, ()


class _TruncatedDate(_Headline):
    @property
    def published(self):
        raise EOFError("truncated")


class _UnreadableFile(_Headline):
    """Fails to unpickle with an OSError."""

    def __reduce__(self):
        return open, ("/nonexistent/folder/file",)


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (_Headline(), AttributeError, "'_Headline' object has no attribute"),
        (_UnreadableFile(), FileNotFoundError, "No such file or directory"),
        (_TruncatedDate(), EOFError, "truncated"),  # not taken for the end of the pipe
        (_RaisesTwoArgs(), IndexingFailed, "failed: .*_TwoArgs: E42: the feed is corrupt"),
        (_KillsItsReader(), IndexingFailed, r"an indexing process stopped \(exit code 3\)"),
    ],
)
def test_a_failed_worker_leaves_the_live_generation_serving(
    data_dir, tmp_path, monkeypatch, bad, error, message
):
    """A worker's error reaches the caller as it is (an OSError stays one, which the commands
    report as a write failure); a worker that dies is reported as stopped."""
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1), article(2)))
    live = live_generation(data_dir)
    monkeypatch.setattr(writer, "MIN_SHARE", 1)
    articles = [*CorpusStore(data_dir).articles(), bad]
    with pytest.raises(error, match=message) as raised, write_lock(data_dir, 1):
        writer.build_generation(data_dir, articles, workers=2)
    if not isinstance(bad, _KillsItsReader):
        assert "in an indexing process:\nTraceback" in raised.value.__notes__[0]
    assert live_generation(data_dir) == live
    assert [g.name for g in list_generations(data_dir)] == [live.name]
    assert total(data_dir, "harbours") == 2
    assert not multiprocessing.active_children()


_KILLED_PARENT = """
import sys
import time
from search.engine import writer
from tests.test_indexing import random_articles

def articles():
    # The first worker's run, then a signal that it was handed over, then nothing more: the
    # build is still going when it is killed, however fast this machine indexes.
    yield from random_articles(2000)
    print("handed", flush=True)
    time.sleep(600)
    yield from random_articles(2000)

writer.MIN_SHARE = 1
writer.build_generation(sys.argv[1], articles(), total=4000, workers=2)
"""


def _workers(pid: int) -> set[int]:
    """The spawned worker processes of process ``pid`` (not its resource tracker)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return set()
    workers = set()
    for child in children:
        with suppress(FileNotFoundError):
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                workers.add(int(child))
    return workers


def _running(pid: int) -> bool:
    try:  # the state follows the name, which is in parentheses
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_stop_when_the_reindex_is_killed(tmp_path):
    """A reindex killed outright leaves no indexing process behind (nor a live generation)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _KILLED_PARENT, str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # Waits for the parent to have handed the first run to a worker (or to have died).
        assert parent.stdout.readline() == "handed\n", "the build never handed out a run"
        children = _workers(parent.pid)
        assert len(children) == 2, "the workers never started"
    finally:
        parent.kill()
        parent.wait()
        parent.stdout.close()
    deadline = time.monotonic() + 20
    while any(map(_running, children)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_running, children))
    assert live_generation(tmp_path) is None


def test_lexicon_follows_ingests_and_reindexes(data_dir, tmp_path):
    """Did-you-mean and autocomplete know the words of every ingest, and of a reindex."""

    def suggestion(q: str) -> str | None:
        request = SearchRequest.from_params({"q": [q]}, Limits())
        return Searcher(data_dir).search(request).suggestion

    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1)))
    assert suggestion("ferriez") is None
    ferries = [article(n, title=f"Ferries {n}", body="Ferries sail.") for n in range(2, 6)]
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", *ferries))
    assert suggestion("ferriez") == "ferries"
    assert run_cli("reindex", data_dir=data_dir).exit_code == 0
    assert suggestion("ferriez") == "ferries"
    words = Searcher(data_dir).complete("ferr")["words"]
    assert words == [{"value": "ferries", "count": 4}]


@pytest.mark.parametrize("damage", [None, "{truncated", "[1, 2]", '{"ferries": "many"}'])
def test_missing_or_damaged_lexicon_costs_suggestions_until_the_next_write(
    data_dir, tmp_path, damage, caplog
):
    """None: a data folder indexed before lexicons existed."""
    ferries = [article(n, title=f"Ferries {n}", body="Ferries sail.") for n in range(4)]
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", *ferries))
    lexicon = live_generation(data_dir).path / "lexicon.json"
    if damage is None:
        lexicon.unlink()
    else:
        lexicon.write_text(damage)
    request = SearchRequest.from_params({"q": ["ferriez"]}, Limits())
    assert Searcher(data_dir).search(request).suggestion is None
    assert Searcher(data_dir).complete("ferr")["words"] == []
    assert total(data_dir, "ferries") == 4
    assert "no spelling suggestions until the next ingest or reindex" in caplog.text
    # The next ingest counts the words of every stored article again.
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", article(9)))
    assert Searcher(data_dir).search(request).suggestion == "ferries"
    assert Searcher(data_dir).complete("ferr")["words"] == [{"value": "ferries", "count": 4}]


def test_index_saves_plain_whoosh_fields_and_writers_index_fast(data_dir, tmp_path, monkeypatch):
    """Any Whoosh (or an older version of this code) opens the index; writers use NewsText."""
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1)))
    saved = whoosh_index.open_dir(str(live_generation(data_dir).path)).schema
    assert type(saved[schema.TITLE]) is fields.TEXT
    calls = []
    fast = schema.NewsText.index
    monkeypatch.setattr(schema.NewsText, "index", lambda *a, **k: calls.append(1) or fast(*a, **k))
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", article(2)))
    assert run_cli("reindex", data_dir=data_dir).exit_code == 0
    assert calls and total(data_dir, "harbours") == 2


def test_an_index_of_nothing_answers_every_search(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", {"id": "x", "title": "", "body": ""}))
    client = create_app({"INDEX_DIR": str(data_dir)}).test_client()
    for _ in range(3):
        response = client.get("/api/search", query_string={"q": "oil"})
        assert response.status_code == 200 and response.get_json()["total"] == 0


def test_an_index_opens_after_the_code_that_wrote_it_moved(data_dir, tmp_path):
    """An index's table of contents pickles the analyzers' module: never read, so moving the
    code (as search/schema.py became search/engine/schema.py) does not strand an index."""
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", article(1)))
    generation = live_generation(data_dir)
    (toc,) = generation.path.glob("*.toc")
    moved = toc.read_bytes().replace(b"search.engine.schema", b"search.engine.gone00")
    assert moved != toc.read_bytes()  # (Whoosh's open_dir would fail: no such module)
    toc.write_bytes(moved)
    assert total(data_dir, "harbours") == 1
    ingest(data_dir, write_jsonl(tmp_path / "b.jsonl", article(2)))  # and the writer too
    assert total(data_dir, "harbours") == 2


def test_facet_counts_over_any_set_of_documents(tmp_path):
    """Facet counts equal a count by hand over the documents, for small sets, sets of most
    of the index (counted over the rest) and the whole index, after deletions too."""
    articles = [a.to_dict() for a in random_articles(300)]
    data_dir = tmp_path / "index"
    ingest(data_dir, write_jsonl(tmp_path / "all.jsonl", *articles))
    # (an update: a deleted document in the first segment, a new one in another)
    ingest(data_dir, write_jsonl(tmp_path / "update.jsonl", articles[1] | {"topics": ["grain"]}))
    with Searcher(data_dir) as searcher:
        view = searcher.view()
        reader = view.searcher.reader()
        stored = {d: reader.stored_fields(d) for d in reader.all_doc_ids()}
        rng = random.Random(3)
        for share in (0.0, 0.1, 0.5, 0.9, 1.0):
            chosen = [d for d in stored if rng.random() < share]
            matched = sum(1 << d for d in chosen) if share < 1 else view.sets.all
            facets = view.facets(matched)
            topics = Counter(t for d in chosen for t in stored[d].get("topics", []))
            if share == 1:
                topics = Counter(t for fields in stored.values() for t in fields.get("topics", []))
            expected = sorted(topics.items(), key=lambda item: (-item[1], item[0]))[:10]
            assert [(f.value, f.count) for f in facets["topics"]] == expected, share


def test_updates_keep_the_generations_own_segments(tmp_path, monkeypatch):
    """A small update adds a segment and never merges the segments the generation was built
    with (Whoosh's own policy would merge most of them, posting by posting); searches see the
    update, and repeated updates are merged among themselves."""
    monkeypatch.setattr(writer, "MIN_SHARE", 10)
    monkeypatch.setattr(writer, "WRITER_MEMORY", 60_000)  # segments of about 10
    articles = random_articles(300)
    with write_lock(tmp_path, 1):
        generation, _ = writer.build_generation(tmp_path, articles, workers=1)

    def segments() -> tuple[set[str], set[str]]:
        with whoosh_index.open_dir(str(generation.path)).reader() as reader:
            names = {r.segment().segment_id() for r, _ in reader.leaf_readers()}
        merged = postings.covered(generation.path)
        flat = {
            n for n in names if n in merged or (generation.path / f"{n}{postings.SUFFIX}").exists()
        }
        return flat, names - flat

    built, none = segments()
    assert len(built) > 8 and not none
    probe = whoosh_index.open_dir(str(generation.path)).writer()
    kept = whoosh_writing.MERGE_SMALL(probe, probe.segments)
    probe.cancel()
    assert len(kept) < len(built)  # (what Whoosh's policy would have done)
    for round_ in range(8):
        changed = Article.from_dict(articles[round_].to_dict() | {"title": f"zebra{round_}"})
        with write_lock(tmp_path, 1):
            writer.update_live(tmp_path, [changed])
        flat, updates = segments()
        assert flat == built
        assert 1 <= len(updates) <= 5  # (Whoosh merges them from the sixth on)
        with Searcher(tmp_path) as searcher:
            found = searcher.search(SearchRequest.from_params({"q": [f"zebra{round_}"]}, Limits()))
            assert [hit.id for hit in found.results] == [articles[round_].id]
            assert searcher.search(SearchRequest.from_params({"q": [""]}, Limits())).total == 300


def test_phrases_from_positions_match_whooshs(tmp_path):
    """Exact phrases read from the segments' positions match what Whoosh's phrase matcher
    finds: two and three words, a word twice, stop words between, absent words, in titles
    and bodies, after an update has deleted documents."""
    articles = [a.to_dict() for a in random_articles(300)]
    data_dir = tmp_path / "index"
    ingest(data_dir, write_jsonl(tmp_path / "all.jsonl", *articles))
    ingest(data_dir, write_jsonl(tmp_path / "update.jsonl", articles[5] | {"body": "oil talks"}))
    words = "oil price rose crude output barrels talks café pct opec's the of zebra".split()
    rng = random.Random(11)
    phrases = {"oil oil", "oil the price", "price of oil", "crude zebra", "rose rose rose"}
    phrases |= {" ".join(rng.choices(words, k=rng.randint(2, 3))) for _ in range(150)}
    with Searcher(data_dir) as searcher:
        view = searcher.view()
        reader = view.searcher.reader()
        # (the first segment with positions, and deletions; the update's without)
        assert len(reader.leaf_readers()) == 2 and reader.has_deletions()
        assert view.sets._flat[0] is not None and view.sets._flat[300] is None
        matched = 0
        for text in sorted(phrases):
            for fieldname in (schema.TITLE, schema.BODY):
                q = view.parser.parse(f'{fieldname}:"{text}"')
                if type(q) is not whoosh_query.Phrase:
                    continue  # (one word left once stop words are gone)
                expected = sorted(view.searcher.docs_for_query(q))
                found = docnums(view.docs(q))
                assert found == expected, (fieldname, text)
                matched += bool(expected)
        assert matched > 50


def test_a_damaged_flat_file_is_passed_over(tmp_path, caplog):
    """A segment whose flat arrays are damaged is searched through Whoosh's own files: the
    same answers, and a warning that names the file."""
    data_dir = tmp_path / "index"
    ingest(
        data_dir, write_jsonl(tmp_path / "all.jsonl", *(a.to_dict() for a in random_articles(300)))
    )
    requests = [
        {"q": ["oil price"]},
        {"q": ['"crude output"']},
        {"q": ["barrels"], "topic": ["gas"]},
    ]

    def answers() -> list[dict]:
        with Searcher(data_dir) as searcher:
            found = [
                searcher.search(SearchRequest.from_params(p, Limits())).to_dict() for p in requests
            ]
        for response in found:
            del response["took_ms"]
        return found

    expected = answers()
    (flat,) = (data_dir / "generations").glob(f"*/*{postings.SUFFIX}")
    flat.write_bytes(b"not a postings file")
    assert answers() == expected
    assert flat.name in caplog.text


def test_a_generations_merged_arrays_answer_as_whoosh_does(tmp_path, monkeypatch):
    """A generation of many segments gets one merged file of flat arrays (and the segments'
    own go); every search answers the same with it as through Whoosh's files alone, after an
    update too (deletions in the merged segments, a segment without flat arrays)."""
    monkeypatch.setattr(writer, "MIN_SHARE", 10)
    monkeypatch.setattr(writer, "WRITER_MEMORY", 60_000)  # segments of about 10
    articles = random_articles(300)
    with write_lock(tmp_path, 1):
        generation, _ = writer.build_generation(tmp_path, articles, workers=2)
    assert (generation.path / postings.MERGED).exists()
    assert not list(generation.path.glob(f"MAIN_*{postings.SUFFIX}"))
    changed = [Article.from_dict(a.to_dict() | {"title": "zebra oil"}) for a in articles[3:9]]
    with write_lock(tmp_path, 1):
        writer.update_live(tmp_path, changed)
    requests = [
        {"q": ["oil price"]},
        {"q": ['"crude output"'], "sort": ["newest"]},
        {"q": ['"the oil price"']},
        {"q": ["barrels"], "topic": ["gas"], "page": ["2"]},
        {"q": ["opec talks pct café"], "explain": ["1"]},
        {"q": ["zebra"], "recency": ["0.5"]},
        {"q": ["title:crude"]},
        {"q": [""]},
    ]

    def answers() -> list[dict]:
        with Searcher(tmp_path) as searcher:
            assert len(searcher.view().searcher.reader().leaf_readers()) > 8
            found = [searcher.search(SearchRequest.from_params(p, Limits())) for p in requests]
        return [{**r.to_dict(), "took_ms": 0} for r in found]

    merged = answers()
    (generation.path / postings.MERGED).unlink()
    assert answers() == merged


def test_a_hash_shared_by_two_terms_leaves_the_segments_files(tmp_path, monkeypatch, caplog):
    """Should two terms share a 64-bit hash, the merge stops and the segments' own files serve:
    the same answers, a warning."""
    monkeypatch.setattr(writer, "MIN_SHARE", 10)
    monkeypatch.setattr(writer, "WRITER_MEMORY", 60_000)  # segments of about 10
    real_hash = postings._hash
    monkeypatch.setattr(
        postings,
        "_hash",
        lambda key: 7 if key in (b"title\x00oil", b"title\x00pct") else real_hash(key),
    )
    with write_lock(tmp_path, 1):
        generation, _ = writer.build_generation(tmp_path, random_articles(300), workers=1)
    assert not (generation.path / postings.MERGED).exists()
    assert "share a hash" in caplog.text
    with Searcher(tmp_path) as searcher:
        found = searcher.search(SearchRequest.from_params({"q": ["title:oil"]}, Limits()))
        assert found.total == sum("oil" in a.title.lower().split() for a in random_articles(300))
