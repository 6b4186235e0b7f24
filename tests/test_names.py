"""One name, one facet value (search.names): folding, aliases, merging, facets, filters, stats."""

from __future__ import annotations

import pytest

from search.article import Article
from search.engine import schema
from search.engine.schema import searched_names
from search.errors import BadAliases
from search.generations import live_generation
from search.names import (
    NameRow,
    learn,
    load_aliases,
    name_key,
    parse_aliases,
    readable_person,
)
from search.store import CorpusStore
from tests.conftest import DEMO, ingest, run_cli, write_jsonl
from web import create_app


@pytest.mark.parametrize(
    ("spelling", "key"),
    [
        ("James Baker", "james baker"),
        ("james-baker", "james baker"),
        ("JAMES_BAKER", "james baker"),
        ("  James   Baker ", "james baker"),
        ("José Sarney", "jose sarney"),
        ("Jose Sarney", "jose sarney"),
        ("Gerhard Stoltenberg", "gerhard stoltenberg"),
        ("money-fx", "money fx"),
        ("Money FX", "money fx"),
        ("O'Brien", "o brien"),
    ],
)
def test_spellings_fold_to_one_key(spelling, key):
    assert name_key(spelling) == key


@pytest.mark.parametrize(
    ("spelling", "shown"),
    [
        ("james-baker", "James Baker"),  # a Reuters code
        ("de_clercq", "De Clercq"),
        ("JAMES BAKER", "James Baker"),
        ("marta keller", "Marta Keller"),
        ("Ray MacSharry", "Ray MacSharry"),  # mixed case is kept as written
        ("Jean-Claude Juncker", "Jean-Claude Juncker"),
    ],
)
def test_a_person_is_shown_as_words(spelling, shown):
    assert readable_person(spelling) == shown


def test_aliases_file_gives_each_spelling_its_canonical_name():
    aliases = parse_aliases(
        "# people\n\nJames Baker = James A. Baker III | Jim Baker\nForeign exchange = money-fx\n"
    )
    assert aliases == {
        "james baker": "James Baker",
        "james a baker iii": "James Baker",
        "jim baker": "James Baker",
        "foreign exchange": "Foreign exchange",
        "money fx": "Foreign exchange",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("James Baker\n", "line 1: expected 'Canonical name = variant | variant'"),
        ("# ok\n = Jim Baker\n", "line 2: expected"),
        ("James Baker = Jim Baker | | J. Baker\n", "line 1: an empty variant"),
        (
            "James Baker = Baker\nHoward Baker = baker\n",
            r"line 2: 'baker' is already a spelling of 'James Baker' \(line 1\)",
        ),
    ],
)
def test_a_malformed_aliases_file_is_refused_with_its_line(text, message):
    with pytest.raises(BadAliases, match=message):
        parse_aliases(text, "aliases.txt")


def _row(people=(), topics=(), text=""):
    return NameRow(list(people), list(topics), lambda: text)


def test_a_surname_becomes_the_one_full_name_its_articles_give():
    table = learn(
        [
            _row(["volcker"], text="Federal Reserve Board Chairman Paul Volcker said on Monday"),
            _row(["Volcker"], text="Volcker told the committee rates would stay."),
            _row(["VOLCKER"], text="He spoke after Paul Volcker left."),
        ]
    )
    assert {table.lookup("people", s) for s in ("volcker", "Volcker", "Paul Volcker")} == {
        "Paul Volcker"
    }
    assert table.merges["people"]["Paul Volcker"] == {"volcker": 1, "Volcker": 1, "VOLCKER": 1}


@pytest.mark.parametrize(
    ("surname", "texts", "shown"),
    [
        # Two people of one surname: neither takes it.
        (
            "baker",
            ["Treasury Secretary James Baker said", "chief of staff Howard Baker said"],
            "Baker",
        ),
        ("reagan", ["President Ronald Reagan said", "He met first lady Nancy Reagan"], "Reagan"),
        # A sentence's first word is not a given name: the one full name is Nigel Lawson's.
        ("lawson", ["Although Lawson said so, Chancellor Nigel Lawson later"], "Nigel Lawson"),
        ("lawson", ["Although Lawson said so.", "Rates rose. Although Lawson said"], "Lawson"),
    ],
)
def test_a_surname_takes_a_full_name_only_when_its_articles_give_one(surname, texts, shown):
    table = learn([_row([surname], text=text) for text in texts])
    assert table.lookup("people", surname) == shown


def test_two_full_names_are_never_merged():
    table = learn(
        [
            _row(["James Baker", "Baker"]),
            _row(["Howard Baker"]),
            _row(["George W. Bush", "bush"], text="George H. W. Bush said"),
        ]
    )
    names = {table.lookup("people", n) for n in ("James Baker", "Howard Baker")}
    assert names == {"James Baker", "Howard Baker"}
    assert table.lookup("people", "George W. Bush") != table.lookup("people", "George H. W. Bush")


def _articles(*people_and_topics):
    return [
        {
            "id": f"a{number}",
            "title": f"Article {number} on the Treasury",
            "body": body,
            "people": people,
            "topics": topics,
            "source": "wire",
            "published": f"2024-01-{number + 1:02d}T00:00:00+00:00",
        }
        for number, (people, topics, body) in enumerate(people_and_topics)
    ]


ARTICLES = _articles(
    (["james-baker"], ["money-fx"], "Treasury Secretary James Baker said the dollar fell."),
    (["James Baker"], ["Money FX"], "Baker met bankers."),
    (["JAMES BAKER", "Baker"], ["interest"], "Mr Baker said rates matter."),
    (["volcker"], ["interest", "Volcker"], "Fed Chairman Paul Volcker said rates would hold."),
    (["Volcker"], ["James Baker"], "Volcker said, and Treasury Secretary James Baker agreed."),
    (["Howard Baker"], [], "White House chief of staff Howard Baker said."),
)


@pytest.fixture
def names_dir(data_dir, tmp_path):
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", *ARTICLES))
    return data_dir


def _search(folder, **params):
    client = create_app({"TESTING": True, "INDEX_DIR": str(folder)}).test_client()
    response = client.get("/api/search", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_facets_count_each_person_and_topic_once(names_dir):
    body = _search(names_dir, q="treasury")
    people = {f["value"]: f["count"] for f in body["facets"]["people"]}
    topics = {f["value"]: f["count"] for f in body["facets"]["topics"]}
    assert people == {"James Baker": 3, "Paul Volcker": 2, "Howard Baker": 1}
    # Of spellings as common, the one with capitals stands for the others.
    assert topics == {"interest": 2, "Money FX": 2, "James Baker": 1}
    chips = {hit["id"]: (hit["people"], hit["topics"]) for hit in body["results"]}
    assert chips["a2"] == (["James Baker"], ["interest"])  # "Baker" is James Baker here
    # A person is not repeated among the article's topics.
    assert chips["a3"] == (["Paul Volcker"], ["interest"])
    assert chips["a4"] == (["Paul Volcker"], ["James Baker"])


def test_the_store_keeps_the_values_as_given(names_dir):
    with CorpusStore(names_dir) as store:
        assert store.get("a0").people == ["james-baker"]
        assert store.get("a2").people == ["JAMES BAKER", "Baker"]


@pytest.mark.parametrize(
    ("param", "value", "total"),
    [
        ("person", "James Baker", 3),
        ("person", "james-baker", 3),
        ("person", "JAMES BAKER", 3),
        ("person", "Paul Volcker", 2),
        ("person", "volcker", 2),
        ("person", "Howard Baker", 1),
        ("topic", "MONEY-FX", 2),
        ("topic", "money fx", 2),
    ],
)
def test_any_spelling_filters_the_same(names_dir, param, value, total):
    assert _search(names_dir, q="", **{param: value})["total"] == total


def test_the_values_as_written_stay_searchable(names_dir):
    assert {h["id"] for h in _search(names_dir, q="people:volcker")["results"]} == {"a3", "a4"}


def test_the_name_shown_finds_its_articles_whatever_they_were_coded(names_dir):
    # "volcker" and "Volcker" were coded by surname alone: the name shown finds them
    def found(q: str) -> set[str]:
        return {hit["id"] for hit in _search(names_dir, q=q, collapse="0")["results"]}

    assert found("people:paul") == {"a3", "a4"}
    assert found('people:"paul volcker"') == {"a3", "a4"}
    assert found('people:"james baker"') == {"a0", "a1", "a2"}
    assert found("people:howard") == {"a5"}
    assert found("topics:fx") == {"a0", "a1"}


def test_searched_names_are_the_canonical_ones_and_the_spellings_they_miss():
    assert searched_names(["volcker"], ["Paul Volcker"]) == ["Paul Volcker"]
    assert searched_names(["Jim Baker"], ["James Baker"]) == ["James Baker", "Jim Baker"]
    assert searched_names(["JAMES BAKER", "Baker"], ["James Baker"]) == ["James Baker"]
    assert searched_names(["Marta Keller"], []) == ["Marta Keller"]  # (a person, not a topic)
    assert searched_names(["Ana Lopes"], ["Ana Lopes"]) == ["Ana Lopes"]


def test_stats_lists_the_merges_within_bounds(names_dir):
    output = run_cli("stats", data_dir=names_dir).output
    assert "people: 3 values, 2 merged" in output
    assert "'Baker' (1), 'JAMES BAKER' (1), 'james-baker' (1) -> 'James Baker'" in output
    assert "'Volcker' (1), 'volcker' (1) -> 'Paul Volcker'" in output
    assert "topics: 4 values, 1 merged\n  'money-fx' (1) -> 'Money FX'\n" in output
    assert "more (search stats --merges)" not in output


def test_stats_shows_only_the_largest_merges_unless_asked(data_dir, tmp_path):
    many = _articles(*[([f"person{i}-name"], [], "") for i in range(12)])
    ingest(data_dir, write_jsonl(tmp_path / "a.jsonl", *many))
    short = run_cli("stats", data_dir=data_dir).output
    assert "people: 12 values, 12 merged" in short
    assert short.count(" -> ") == 10 and "... and 2 more (search stats --merges)" in short
    assert run_cli("stats", "--merges", data_dir=data_dir).output.count(" -> ") == 12


def test_reindex_applies_a_changed_aliases_file(names_dir):
    (names_dir / "aliases.txt").write_text(
        "James A. Baker III = James Baker | Baker\nForeign exchange = money-fx\n", "utf-8"
    )
    assert run_cli("reindex", data_dir=names_dir).exit_code == 0
    body = _search(names_dir, q="treasury")
    people = {f["value"]: f["count"] for f in body["facets"]["people"]}
    assert people["James A. Baker III"] == 3 and "James Baker" not in people
    topics = {f["value"] for f in body["facets"]["topics"]}
    assert topics == {"interest", "Foreign exchange", "James A. Baker III"}
    assert _search(names_dir, q="", person="james-baker")["total"] == 3
    assert _search(names_dir, q="", topic="Foreign exchange")["total"] == 2
    # A new article takes the generation's names.
    more = _articles(*[([], [], "")] * 6, (["JAMES A BAKER III"], ["MONEY-FX"], "Treasury."))
    ingest(names_dir, write_jsonl(names_dir.parent / "b.jsonl", more[-1]))
    hit = next(h for h in _search(names_dir, q="treasury")["results"] if h["id"] == "a6")
    assert (hit["people"], hit["topics"]) == (["James A. Baker III"], ["Foreign exchange"])


@pytest.mark.parametrize("command", ["ingest", "reindex"])
def test_a_malformed_aliases_file_stops_a_write_with_a_clear_error(names_dir, tmp_path, command):
    (names_dir / "aliases.txt").write_text("James Baker\n", "utf-8")
    before = _search(names_dir, q="treasury")
    extra = [str(write_jsonl(tmp_path / "b.jsonl", *_articles(([], [], "x"))))]
    result = run_cli(command, *(extra if command == "ingest" else []), data_dir=names_dir)
    assert result.exit_code == 1
    assert "aliases.txt, line 1: expected 'Canonical name = variant | variant'" in result.output
    assert "Traceback" not in result.output
    assert _search(names_dir, q="treasury")["total"] == before["total"]


def test_the_aliases_setting_names_the_file(names_dir, tmp_path, monkeypatch):
    aliases = tmp_path / "names.txt"
    aliases.write_text("Paul A. Volcker = Paul Volcker\n", "utf-8")
    monkeypatch.setenv("SEARCH_ALIASES", str(aliases))
    assert run_cli("reindex", data_dir=names_dir).exit_code == 0
    people = {f["value"] for f in _search(names_dir, q="treasury")["facets"]["people"]}
    assert "Paul A. Volcker" in people and "Paul Volcker" not in people
    monkeypatch.setenv("SEARCH_ALIASES", str(tmp_path / "missing.txt"))
    result = run_cli("reindex", data_dir=names_dir)
    assert result.exit_code == 1 and "cannot read the aliases file" in result.output


def test_a_demo_person_is_not_among_the_topics_too(data_dir):
    ingest(data_dir, DEMO / "text" / "wire-digest")
    body = _search(data_dir, q="Baltic Grid Authority offshore link")
    hit = next(h for h in body["results"] if "Marta Keller" in h["people"])
    assert "Marta Keller" not in hit["topics"]
    assert "Baltic Grid Authority" in hit["topics"]


def test_an_ingest_into_a_generation_without_names_keeps_its_values_findable(data_dir, tmp_path):
    # A generation written before canonical names: its articles indexed with their values as
    # written, and no names.json beside them (made here the way that code wrote it).
    ingest(data_dir, write_jsonl(tmp_path / "first.jsonl", *_articles(([], [], "Treasury."))))
    live = live_generation(data_dir).path
    (live / "names.json").unlink()
    old = Article(
        "old", "https://example.org/old", "Dollar", "Dollar.", ["money-fx"], ["james-baker"]
    )
    with schema.open_index(live).writer() as raw:
        raw.update_document(**schema.article_document(old))  # (no table: values as written)
    assert _search(data_dir, q="", person="james-baker")["total"] == 1
    new = _articles(*[([], [], "")] * 3, (["Paul Volcker"], ["interest"], "Rates."))
    ingest(data_dir, write_jsonl(tmp_path / "new.jsonl", new[-1]))
    body = _search(data_dir, q="")
    assert body["total"] == 3
    for facet, param in (("people", "person"), ("topics", "topic")):
        for value in body["facets"][facet]:
            assert _search(data_dir, q="", **{param: value["value"]})["total"] == value["count"]
    assert _search(data_dir, q="", person="james-baker")["total"] == 1


def test_an_aliases_file_saved_with_a_byte_order_mark_reads_as_its_names(tmp_path):
    (tmp_path / "aliases.txt").write_bytes("James Baker = Jim Baker\n".encode("utf-8-sig"))
    assert load_aliases(tmp_path) == {"james baker": "James Baker", "jim baker": "James Baker"}
