"""`search eval`: collection readers, measures from ir-measures, run files, floors on real data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.evaluate import CollectionError, evaluate, read_collection
from tests.conftest import ROOT, SHARED_DATA, need_shared, run_cli

FLOORS = json.loads((ROOT / "bench" / "relevance_floors.json").read_text())


def trec_folder(tmp_path: Path) -> Path:
    """A small generic collection whose right answers are plain."""
    docs = [
        {"id": "d1", "title": "Wheat harvest", "body": "The wheat harvest in Kansas was large."},
        {"id": "d2", "title": "Oil prices", "body": "Crude oil prices fell on Monday."},
        {"id": "d3", "title": "Rail strike", "body": "A rail strike stopped freight trains."},
        {"id": "d4", "title": "Markets", "body": "Shares rose while oil and wheat were flat."},
    ]
    folder = tmp_path / "mini"
    folder.mkdir()
    (folder / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (folder / "queries.tsv").write_text("q1\twheat harvest\nq2\trail strike?\nq3\tunjudged\n")
    (folder / "qrels.txt").write_text("q1 0 d1 2\nq1 0 d4 1\nq2 0 d3 1\nq2 0 d2 0\n")
    return folder


def test_trec_collection_is_measured_with_the_right_answers_first(tmp_path):
    [evaluation] = evaluate(read_collection(trec_folder(tmp_path)))
    assert evaluation.queries == 2  # only judged queries run
    assert evaluation.per_query["q1"]["nDCG@10"] == pytest.approx(1.0)
    assert evaluation.per_query["q2"]["MAP"] == pytest.approx(1.0)
    assert evaluation.overall["Recall@100"] == pytest.approx(1.0)
    assert [doc for doc, _ in evaluation.run["q1"]][:2] == ["d1", "d4"]


def test_eval_command_prints_figures_and_writes_a_run_file(tmp_path):
    run_file = tmp_path / "mini.run"
    result = run_cli(
        "eval",
        "--collection",
        "trec",
        str(trec_folder(tmp_path)),
        "--run-file",
        str(run_file),
        "--json",
        "--per-query",
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    full, short = body["collections"]
    assert (full["collection"], short["collection"]) == ("mini", "mini (short)")
    assert set(full["measures"]) == {"nDCG@10", "MAP", "Recall@100"}
    assert set(full["per_query"]) == {"q1", "q2"}
    assert body["mean"] == {}  # (one collection: nothing to average)
    first = run_file.read_text().splitlines()[0].split()
    assert first[:4] == ["q1", "Q0", "d1", "1"] and len(first) == 6
    (tmp_path / "again").mkdir()
    table = run_cli("eval", str(trec_folder(tmp_path / "again")))
    assert table.exit_code == 0, table.output
    assert [line.split()[0] for line in table.output.splitlines()] == ["collection", "mini", "mini"]


def test_eval_command_measures_several_collections_in_one_table(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    folders = [trec_folder(tmp_path / "a"), trec_folder(tmp_path / "b")]
    (folders[1] / "qrels.txt").write_text("q1 0 d2 1\nq2 0 d3 1\n")  # q1's answer is wrong
    result = run_cli("eval", *map(str, folders))  # kinds told by the folders' files
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "collection",
        "documents",
        "queries",
        "nDCG@10",
        "MAP",
        "Recall@100",
    ]
    assert [line.split()[0] for line in lines[1:]] == ["mini"] * 4 + ["mean,"] * 2
    as_json = json.loads(run_cli("eval", "--full-only", "--json", *map(str, folders)).output)
    figures = [c["measures"]["MAP"] for c in as_json["collections"]]
    assert len(figures) == 2 and figures[0] == pytest.approx(1.0) and figures[1] < 1.0
    assert as_json["mean"]["full queries"]["MAP"] == pytest.approx(sum(figures) / 2)
    bad = run_cli("eval", str(folders[0]), str(tmp_path))
    assert bad.exit_code == 1 and "holds no test collection" in bad.output


def test_short_queries_are_the_first_three_words_that_are_not_stop_words(tmp_path):
    collection = read_collection(trec_folder(tmp_path))
    collection.queries["q9"] = "What are the effects of the wind on U.S. power prices?"
    short = collection.shortened()
    assert short.name == "mini (short)" and short.qrels == collection.qrels
    assert short.queries["q9"] == "effects wind us"
    assert short.queries["q1"] == "wheat harvest"


def test_cranfield_queries_are_numbered_by_position_and_codes_graded(tmp_path):
    folder = tmp_path / "cran"
    folder.mkdir()
    (folder / "cran.all.1400").write_text(
        ".I 1\n.T\nlift of wings\n.A\nsmith\n.B\nj. ae\n.W\nlift of wings at speed .\n"
        ".I 2\n.T\nheat transfer\n.A\n.B\n.W\nheat transfer in slabs .\n"
    )
    # .I ids skip numbers: judgments use the position (1, 2), not the id (001, 004).
    (folder / "cran.qry").write_text(".I 001\n.W\nwing lift .\n.I 004\n.W\nheat slabs .\n")
    (folder / "cranqrel").write_text("1 1 1\n1 2 -1\n2 2 4 \n")
    collection = read_collection(folder)
    assert collection.queries == {"1": "wing lift .", "2": "heat slabs ."}
    assert sorted(collection.qrels) == [("1", "1", 4), ("1", "2", 0), ("2", "2", 1)]
    assert collection.articles[0].title == "lift of wings"
    assert evaluate(collection)[0].overall["nDCG@10"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({}, "docs.jsonl is missing"),
        ({"docs.jsonl": "not json\n"}, "docs.jsonl line 1"),
        ({"docs.jsonl": '{"id": "a"}\n', "queries.tsv": "no tab\n"}, "expected id<TAB>text"),
        (
            {"docs.jsonl": '{"id": "a"}\n', "queries.tsv": "1\tx\n", "qrels.txt": "1 a 1\n"},
            "qid 0 docid relevance",
        ),
    ],
)
def test_bad_collections_are_a_clear_error(tmp_path, files, message):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(CollectionError, match=message):
        read_collection(tmp_path, "trec")
    result = run_cli("eval", "--collection", "trec", str(tmp_path))
    assert result.exit_code == 1 and message in result.output


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FLOORS["collections"]))
def test_ranking_stays_above_its_pinned_floors(name):
    """The figures bench/README.md reports, full and short queries; a change that drops below
    them fails here."""
    folder = need_shared(SHARED_DATA / name)
    full, short = evaluate(read_collection(folder), short=True)
    for variant, evaluation in (("full", full), ("short", short)):
        for measure, floor in FLOORS["collections"][name][variant].items():
            assert evaluation.overall[measure] >= floor, (name, variant, evaluation.overall)
