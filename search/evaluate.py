"""Relevance evaluation: read a test collection, index it the product's way, measure the ranking."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ir_measures
from ir_measures import AP, R, nDCG

from search.article import Article
from search.engine import schema
from search.engine.scoring import Ranking
from search.engine.searcher import Searcher
from search.engine.writer import build_generation
from search.errors import InvalidRequest

logger = logging.getLogger(__name__)

COLLECTIONS = ("cranfield", "cisi", "trec")
# nDCG@10, MAP (average precision over the top 1000) and Recall@100, as the issue asks.
MEASURES = {"nDCG@10": nDCG @ 10, "MAP": AP @ 1000, "Recall@100": R @ 100}
DEPTH = 1000  # results ranked per query, the depth MAP is measured to


class CollectionError(Exception):
    """A test collection is missing a file or has one that cannot be read."""


@dataclass
class Collection:
    """A test collection: its documents, its queries and the judgments of them."""

    name: str
    articles: list[Article]
    queries: dict[str, str]  # query id -> text
    qrels: list[tuple[str, str, int]] = field(default_factory=list)  # (query, doc, relevance)

    def judged_queries(self) -> dict[str, str]:
        """The queries that have at least one judgment, in their order."""
        judged = {qid for qid, _, _ in self.qrels}
        return {qid: text for qid, text in self.queries.items() if qid in judged}

    def shortened(self) -> Collection:
        """The same collection with every query cut as a search box gets it (:func:`short`)."""
        queries = {qid: short(text) for qid, text in self.queries.items()}
        return Collection(f"{self.name} (short)", self.articles, queries, self.qrels)


SHORT_WORDS = 3


def short(text: str) -> str:
    """A query as a reader types it in a search box: its first three words that are not stop
    words (the product's stop list), as the index folds them (lower case, "U.S." -> "us")."""
    words = map(schema.fold, schema.TOKEN_PATTERN.findall(text))
    return " ".join([word for word in words if word not in schema.STOP_WORDS][:SHORT_WORDS])


def _need(path: Path) -> Path:
    if not path.is_file():
        raise CollectionError(f"{path} is missing")
    return path


def _records(path: Path, encoding: str = "utf-8") -> Iterator[tuple[str, dict[str, str]]]:
    """The ``.I`` records of a SMART-format file (Cranfield, CISI): id and {".W": text, ...}."""
    text = _need(path).read_text(encoding=encoding, errors="replace")
    for chunk in re.split(r"^\.I[ \t]+", text, flags=re.M)[1:]:
        number, _, rest = chunk.partition("\n")
        parts = re.split(r"^(\.[A-Z])[ \t]*$", rest, flags=re.M)
        fields = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
        yield number.strip(), fields


def _doc(name: str, doc_id: str, title: str, body: str) -> Article:
    # An empty url and no date: the collections have neither.
    return Article(id=doc_id, url="", title=title, body=body or title, source=name)


def read_cranfield(path: str | Path) -> Collection:
    """Read Cranfield 1400 (``cran.all.1400``, ``cran.qry``, ``cranqrel``).

    Judgments name a query by its 1-based position in ``cran.qry`` (its ``.I`` ids skip
    numbers). Codes 1-4 become gains 4-1 (5 - code); -1 (no interest) is not relevant.
    """
    folder = Path(path)
    articles = [
        _doc("cranfield", number.lstrip("0") or "0", fields.get(".T", ""), fields.get(".W", ""))
        for number, fields in _records(folder / "cran.all.1400")
    ]
    queries = {
        str(position): " ".join(fields.get(".W", "").split())
        for position, (_, fields) in enumerate(_records(folder / "cran.qry"), 1)
    }
    qrels = []
    for line in _need(folder / "cranqrel").read_text().splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        query, doc, code = parts[0], parts[1], int(parts[2])
        qrels.append((query, doc, 5 - code if 1 <= code <= 4 else 0))
    return Collection("cranfield", articles, queries, qrels)


def read_cisi(path: str | Path) -> Collection:
    """Read CISI (``CISI.ALL``, ``CISI.QRY``, ``CISI.REL``); judgments are binary.

    A query is its title (``.T``, when it has one) and its text (``.W``).
    """
    folder = Path(path)
    articles = [
        _doc("cisi", number, fields.get(".T", ""), fields.get(".W", ""))
        for number, fields in _records(folder / "CISI.ALL")
    ]
    queries = {
        number: " ".join((fields.get(".T", "") + " " + fields.get(".W", "")).split())
        for number, fields in _records(folder / "CISI.QRY")
    }
    qrels = []
    for line in _need(folder / "CISI.REL").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2:
            qrels.append((parts[0], parts[1], 1))
    return Collection("cisi", articles, queries, qrels)


def read_trec(path: str | Path) -> Collection:
    """Read a generic collection: ``docs.jsonl`` ({"id", "title", "body"} a line),
    ``queries.tsv`` (id TAB text) and ``qrels.txt`` (TREC: qid 0 docid relevance)."""
    folder = Path(path)
    name = folder.name or "trec"
    articles = []
    with open(_need(folder / "docs.jsonl"), encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                articles.append(
                    _doc(
                        name, str(record["id"]), record.get("title") or "", record.get("body") or ""
                    )
                )
            except (ValueError, KeyError, TypeError) as error:
                raise CollectionError(f"docs.jsonl line {number}: {error!r}") from None
    queries = {}
    for number, line in enumerate(_need(folder / "queries.tsv").read_text().splitlines(), 1):
        if line.strip():
            qid, tab, text = line.partition("\t")
            if not tab:
                raise CollectionError(f"queries.tsv line {number}: expected id<TAB>text")
            queries[qid.strip()] = text.strip()
    qrels = []
    for number, line in enumerate(_need(folder / "qrels.txt").read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 4 or not re.fullmatch(r"-?\d+", parts[3]):
            raise CollectionError(f"qrels.txt line {number}: expected 'qid 0 docid relevance'")
        qrels.append((parts[0], parts[2], int(parts[3])))
    return Collection(name, articles, queries, qrels)


READERS = {"cranfield": read_cranfield, "cisi": read_cisi, "trec": read_trec}
# The file that tells each kind of collection folder apart.
MARKERS = {"cranfield": "cran.all.1400", "cisi": "CISI.ALL", "trec": "docs.jsonl"}


def collection_kind(path: str | Path) -> str:
    """The kind of the collection in folder ``path``, told by the files it holds."""
    folder = Path(path)
    for kind, marker in MARKERS.items():
        if (folder / marker).is_file():
            return kind
    expected = ", ".join(f"{marker} ({kind})" for kind, marker in MARKERS.items())
    raise CollectionError(f"{path} holds no test collection: expected one of {expected}")


def read_collection(path: str | Path, kind: str | None = None) -> Collection:
    """Read the test collection in folder ``path``: of kind ``cranfield``, ``cisi`` or
    ``trec``, or (when ``kind`` is None) of the kind its files show."""
    if kind is not None and kind not in READERS:
        raise CollectionError(f"unknown collection kind {kind!r}; one of {', '.join(READERS)}")
    if not Path(path).is_dir():
        raise CollectionError(f"{path} is not a folder")
    return READERS[kind or collection_kind(path)](path)


@dataclass
class Evaluation:
    """The figures of one run: overall means, per query, and the run itself."""

    collection: str
    documents: int
    queries: int
    overall: dict[str, float]
    per_query: dict[str, dict[str, float]]
    run: dict[str, list[tuple[str, float]]]

    def to_dict(self, per_query: bool = False) -> dict[str, Any]:
        """The figures as JSON-ready values."""
        data: dict[str, Any] = {
            "collection": self.collection,
            "documents": self.documents,
            "queries": self.queries,
            "measures": self.overall,
        }
        if per_query:
            data["per_query"] = self.per_query
        return data


def index(collection: Collection, data_dir: Path) -> None:
    """Index the collection's documents into ``data_dir`` the product's way."""
    build_generation(data_dir, collection.articles, keep=1)


def rank(collection: Collection, searcher: Searcher) -> dict[str, list[tuple[str, float]]]:
    """Rank every judged query of ``collection`` with ``searcher`` (over its documents)."""
    run = {}
    for qid, text in collection.judged_queries().items():
        try:
            run[qid] = searcher.rank(text, limit=DEPTH)
        except InvalidRequest as error:
            # Counted as finding nothing (ir-measures scores a query missing from the run as 0).
            logger.warning("query %s could not be run: %s", qid, error)
            run[qid] = []
    return run


def measure(collection: Collection, run: dict[str, list[tuple[str, float]]]) -> Evaluation:
    """The figures of a run over ``collection``'s judged queries."""
    qrels = [ir_measures.Qrel(q, d, rel) for q, d, rel in collection.qrels]
    scored = [
        ir_measures.ScoredDoc(qid, doc, score)
        for qid, ranking in run.items()
        for doc, score in ranking
    ]
    names = {measure: name for name, measure in MEASURES.items()}
    overall = ir_measures.calc_aggregate(list(MEASURES.values()), qrels, scored)
    per_query: dict[str, dict[str, float]] = {qid: {} for qid in run}
    for metric in ir_measures.iter_calc(list(MEASURES.values()), qrels, scored):
        per_query.setdefault(metric.query_id, {})[names[metric.measure]] = metric.value
    return Evaluation(
        collection=collection.name,
        documents=len(collection.articles),
        queries=len(run),
        overall={name: overall[measure] for name, measure in MEASURES.items()},
        per_query=per_query,
        run=run,
    )


def evaluate(
    collection: Collection, ranking: Ranking | None = None, short: bool = False
) -> list[Evaluation]:
    """Index ``collection`` in a temporary folder, run its judged queries with ``ranking``
    (the shipped one by default) and measure them; with ``short``, its short queries too
    (:meth:`Collection.shortened`), over the same index."""
    variants = [collection, collection.shortened()] if short else [collection]
    with tempfile.TemporaryDirectory(prefix="search-eval-") as tmp:
        index(collection, Path(tmp))
        with Searcher(tmp, ranking=ranking) as searcher:
            return [measure(variant, rank(variant, searcher)) for variant in variants]


def mean(evaluations: list[Evaluation]) -> dict[str, float]:
    """Each measure's mean over several evaluations (each collection counting once)."""
    return {m: sum(e.overall[m] for e in evaluations) / len(evaluations) for m in MEASURES}


def write_run(evaluation: Evaluation, path: str | Path, tag: str = "news-search") -> None:
    """Write the ranking as a TREC run file (qid Q0 docid rank score tag)."""
    with open(path, "w", encoding="utf-8") as handle:
        for qid, ranking in evaluation.run.items():
            for rank, (doc, score) in enumerate(ranking, 1):
                handle.write(f"{qid} Q0 {doc} {rank} {score:.6f} {tag}\n")
