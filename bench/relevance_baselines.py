"""Relevance baselines: other engines' default BM25 on Cranfield and CISI, measured our way.

Usage: python -m bench.relevance_baselines [--data DIR] [--engines KEY,KEY] [--lucene-jars DIR]

Each engine indexes the title and body of every document with its own defaults (BM25 with its
default parameters, its standard English stemming and stop words as its README shows), ranks the
top 1000 for every judged query (the query's words OR-ed together) and is scored with ir-measures
on nDCG@10, MAP (AP@1000) and Recall@100, the ``MEASURES`` of ``search eval``. Documents,
queries and judgments come from the product's own readers (``search.evaluate.read_collection``),
so every row, the product's first, is measured on identical data. The last row is the best figure
of the other engines in each column. Engine keys: product, whoosh, bm25s, rank-bm25, lucene,
fts5, tantivy.

The engines are not project dependencies. Install them in a scratch virtualenv, not the
project's, and run from the repository root::

    python3 -m venv /tmp/blvenv
    /tmp/blvenv/bin/pip install -e . bm25s PyStemmer rank-bm25 tantivy pyjnius
    apt-get install liblucene8-java  # Lucene 8's jars in /usr/share/java; needs a JDK (17 works)
    /tmp/blvenv/bin/python -m bench.relevance_baselines

An engine whose package (for Lucene: pyjnius, or the jars) is missing is reported as "not
installed" and skipped. Engines run one after another, never in parallel.

Comparing with figures measured elsewhere: a CISI query is its ``.T`` title (26 of the 76 judged
queries have one) followed by its ``.W`` text, as in the figures the project's issue quotes;
Lucene is indexed as Anserini and Pyserini do it, title and body in one ``contents`` field (as
two fields it scores 0.378 / 0.373 nDCG@10 instead).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.common import SHARED_DATA, build_fts5, machine_line, need
from search.article import Article
from search.evaluate import DEPTH, MEASURES, Collection, evaluate, measure, read_collection

Run = dict[str, list[tuple[str, float]]]  # query id -> [(doc id, score)], best first
COLLECTIONS = {"cranfield": "Cranfield", "cisi": "CISI", "med": "MED", "npl": "NPL"}
BASELINE_PACKAGES = ("bm25s", "PyStemmer", "rank-bm25", "tantivy", "Whoosh-Reloaded", "pyjnius")
LUCENE_JARS = Path("/usr/share/java")  # where Debian's liblucene8-java puts them
_WORD = re.compile(r"\w+")


def query_words(text: str) -> list[str]:
    """The words of a query, lower-cased, with no operator syntax left for a parser to read.

    Lower-casing keeps a parser from reading a capitalised AND, OR or NOT as an operator; every
    engine lower-cases at indexing anyway.
    """
    return _WORD.findall(text.lower())


def full_text(article: Article) -> str:
    """Title and body as one text, for the engines that index a document as one field."""
    return f"{article.title}\n{article.body}"


def _positive(ranking: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """Drop documents that matched no query word (score 0): libraries that score every document
    return them too, in arbitrary order, while the index-based engines never return them."""
    return [(doc, score) for doc, score in ranking if score > 0]


def rank_each(
    queries: dict[str, str], search: Callable[[list[str]], list[tuple[str, float]]]
) -> Run:
    """The run of ``search`` (query words -> ranked (doc id, score)) over ``queries``; a query
    with no words ranks nothing."""
    run = {}
    for qid, text in queries.items():
        words = query_words(text)
        run[qid] = search(words) if words else []
    return run


# --- The engines. Each indexes a collection and ranks its judged queries: the run. ---


def run_bm25s(collection: Collection) -> Run:
    """bm25s, its defaults (method "lucene", k1 1.5, b 0.75), English stop words, Snowball stems."""
    import bm25s
    import Stemmer

    articles, queries = collection.articles, collection.judged_queries()

    stemmer = Stemmer.Stemmer("english")
    tokens = bm25s.tokenize(
        [full_text(a) for a in articles], stopwords="en", stemmer=stemmer, show_progress=False
    )
    retriever = bm25s.BM25()
    retriever.index(tokens, show_progress=False)
    ids = list(queries)
    # As strings, so that the query words are looked up in the index's own vocabulary.
    query_tokens = bm25s.tokenize(
        [queries[qid] for qid in ids],
        stopwords="en",
        stemmer=stemmer,
        return_ids=False,
        show_progress=False,
    )
    docs, scores = retriever.retrieve(
        query_tokens, k=min(DEPTH, len(articles)), show_progress=False
    )
    return {
        qid: _positive(
            [(articles[int(d)].id, float(s)) for d, s in zip(docs[row], scores[row], strict=True)]
        )
        for row, qid in enumerate(ids)
    }


def run_rank_bm25(collection: Collection) -> Run:
    """rank-bm25's BM25Okapi (k1 1.5, b 0.75, epsilon 0.25). rank-bm25 leaves tokenising to the
    caller: words of two or more letters (bm25s's and scikit-learn's pattern), lower-cased,
    English stop words (Whoosh's list) removed, Snowball stems."""
    import Stemmer
    from rank_bm25 import BM25Okapi
    from whoosh.analysis import STOP_WORDS

    articles, queries = collection.articles, collection.judged_queries()

    stemmer = Stemmer.Stemmer("english")
    pattern = re.compile(r"(?u)\b\w\w+\b")

    def tokens(text: str) -> list[str]:
        return stemmer.stemWords([w for w in pattern.findall(text.lower()) if w not in STOP_WORDS])

    bm25 = BM25Okapi([tokens(full_text(a)) for a in articles])
    run = {}
    for qid, text in queries.items():
        scores = bm25.get_scores(tokens(text))
        best = sorted(range(len(articles)), key=lambda i: -scores[i])[:DEPTH]
        run[qid] = _positive([(articles[i].id, float(scores[i])) for i in best])
    return run


def run_fts5(collection: Collection) -> Run:
    """SQLite FTS5 (porter unicode61 tokenizer, columns title and body), ranked by bm25()."""
    articles, queries = collection.articles, collection.judged_queries()
    with tempfile.TemporaryDirectory(prefix="bl-fts5-") as tmp:
        path = Path(tmp) / "fts.db"
        build_fts5(articles, path)  # rowid i + 1 is articles[i]
        db = sqlite3.connect(path)

        def search(words: list[str]) -> list[tuple[str, float]]:
            rows = db.execute(
                "SELECT rowid, bm25(docs) FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
                (" OR ".join(f'"{word}"' for word in words), DEPTH),
            ).fetchall()
            # bm25() is lower for better matches.
            return [(articles[rowid - 1].id, -score) for rowid, score in rows]

        run = rank_each(queries, search)
        db.close()
    return run


def run_tantivy(collection: Collection) -> Run:
    """tantivy (BM25, k1 1.2, b 0.75), fields title and body with its "en_stem" tokenizer."""
    import tantivy

    articles, queries = collection.articles, collection.judged_queries()

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("doc_id", stored=True, tokenizer_name="raw")
    builder.add_text_field("title", tokenizer_name="en_stem")
    builder.add_text_field("body", tokenizer_name="en_stem")
    index = tantivy.Index(builder.build())  # in memory
    writer = index.writer(num_threads=1)
    for article in articles:
        writer.add_document(
            tantivy.Document(doc_id=article.id, title=article.title, body=article.body)
        )
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    searcher = index.searcher()

    def search(words: list[str]) -> list[tuple[str, float]]:
        query = index.parse_query(" ".join(words), ["title", "body"])  # OR by default
        hits = searcher.search(query, limit=DEPTH).hits
        return [(searcher.doc(address)["doc_id"][0], score) for score, address in hits]

    return rank_each(queries, search)


def run_whoosh(collection: Collection) -> Run:
    """Whoosh (BM25F, B 0.75, K1 1.2), fields title and body with its StemmingAnalyzer
    (lower case, English stop words, Porter stems), queried through an OR-group parser."""
    from whoosh.analysis import StemmingAnalyzer
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.filedb.filestore import RamStorage
    from whoosh.qparser import MultifieldParser, OrGroup

    articles, queries = collection.articles, collection.judged_queries()

    schema = Schema(
        doc_id=ID(stored=True),
        title=TEXT(analyzer=StemmingAnalyzer()),
        body=TEXT(analyzer=StemmingAnalyzer()),
    )
    index = RamStorage().create_index(schema)
    writer = index.writer()
    for article in articles:
        writer.add_document(doc_id=article.id, title=article.title, body=article.body)
    writer.commit()
    parser = MultifieldParser(["title", "body"], schema, group=OrGroup)
    with index.searcher() as searcher:

        def search(words: list[str]) -> list[tuple[str, float]]:
            hits = searcher.search(parser.parse(" ".join(words)), limit=DEPTH)
            return [(hit["doc_id"], hit.score) for hit in hits]

        return rank_each(queries, search)


def lucene_classpath(folder: Path) -> list[str]:
    """The jars Lucene needs (core, English analyzers, query parser), or [] if one is absent."""
    jars = []
    for pattern in (
        "lucene-core-[0-9]*.jar",
        "lucene-analy[sz]*-common-[0-9]*.jar",  # analyzers-common (8.x), analysis-common (9.x)
        "lucene-queryparser-[0-9]*.jar",
    ):
        found = sorted(folder.glob(pattern))
        if not found:
            return []
        jars.append(str(found[-1]))
    return jars


def lucene_version(folder: Path) -> str:
    """Lucene's version, read from the core jar's name."""
    jars = lucene_classpath(folder)
    return Path(jars[0]).stem.removeprefix("lucene-core-") if jars else "not installed"


def make_run_lucene(folder: Path) -> Callable[[Collection], Run]:
    """The Lucene engine over the jars in ``folder``, through pyjnius (one JVM per process)."""

    def run_lucene(collection: Collection) -> Run:
        """Lucene (BM25Similarity, its default: k1 1.2, b 0.75) with its EnglishAnalyzer (lower
        case, English stop words, Porter stems) over one field holding title and body, as
        Anserini and Pyserini index a document; the classic query parser (OR by default)."""
        import jnius_config

        articles, queries = collection.articles, collection.judged_queries()
        if not jnius_config.vm_running:
            jnius_config.set_classpath(*lucene_classpath(folder))
        from jnius import autoclass

        directory = autoclass("org.apache.lucene.store.ByteBuffersDirectory")()
        analyzer = autoclass("org.apache.lucene.analysis.en.EnglishAnalyzer")()
        config = autoclass("org.apache.lucene.index.IndexWriterConfig")(analyzer)
        writer = autoclass("org.apache.lucene.index.IndexWriter")(directory, config)
        document_class = autoclass("org.apache.lucene.document.Document")
        string_field = autoclass("org.apache.lucene.document.StringField")
        text_field = autoclass("org.apache.lucene.document.TextField")
        store = autoclass("org.apache.lucene.document.Field$Store")
        for article in articles:
            document = document_class()
            document.add(string_field("doc_id", article.id, store.YES))
            document.add(text_field("contents", full_text(article), store.NO))
            writer.addDocument(document)
        writer.close()
        reader = autoclass("org.apache.lucene.index.DirectoryReader").open(directory)
        searcher = autoclass("org.apache.lucene.search.IndexSearcher")(
            reader, signature="(Lorg/apache/lucene/index/IndexReader;)V"
        )
        parser = autoclass("org.apache.lucene.queryparser.classic.QueryParser")(
            "contents", analyzer
        )

        def search(words: list[str]) -> list[tuple[str, float]]:
            top = searcher.search(parser.parse(" ".join(words)), DEPTH)
            return [
                (searcher.doc(hit.doc).get("doc_id"), float(hit.score)) for hit in top.scoreDocs
            ]

        run = rank_each(queries, search)
        reader.close()
        return run

    return run_lucene


def run_product(collection: Collection) -> Run:
    """This project's ranking, exactly as ``search eval`` runs it."""
    return evaluate(collection)[0].run


@dataclass
class Engine:
    """One engine: its row label, what it needs installed, and how it ranks a collection."""

    key: str
    label: str
    modules: tuple[str, ...]
    rank: Callable[[Collection], Run]
    extra_check: Callable[[], str | None] = lambda: None  # a reason it cannot run, or None

    def missing(self) -> str | None:
        """Why the engine cannot run here ("not installed: ..."), or None when it can."""
        absent = [name for name in self.modules if importlib.util.find_spec(name) is None]
        if absent:
            return f"not installed ({', '.join(absent)})"
        return self.extra_check()


def engines(lucene_jars: Path) -> list[Engine]:
    """Every engine, the product first."""

    def lucene_check() -> str | None:
        if not lucene_classpath(lucene_jars):
            return f"not installed (no Lucene jars in {lucene_jars})"
        if not os.environ.get("JAVA_HOME") and not any(
            (Path(p) / "java").exists() for p in os.environ.get("PATH", "").split(os.pathsep)
        ):
            return "not installed (no Java)"
        return None

    return [
        Engine("product", "news-search (this project)", ("whoosh",), run_product),
        Engine("whoosh", "Whoosh (StemmingAnalyzer)", ("whoosh",), run_whoosh),
        Engine("bm25s", "bm25s", ("bm25s", "Stemmer"), run_bm25s),
        Engine("rank-bm25", "rank-bm25 (BM25Okapi)", ("rank_bm25", "Stemmer"), run_rank_bm25),
        Engine(
            "lucene",
            f"Lucene {lucene_version(lucene_jars)} (EnglishAnalyzer)",
            ("jnius",),
            make_run_lucene(lucene_jars),
            lucene_check,
        ),
        Engine("fts5", f"SQLite FTS5 {sqlite3.sqlite_version} (porter)", (), run_fts5),
        Engine("tantivy", "tantivy (en_stem)", ("tantivy",), run_tantivy),
    ]


def versions() -> str:
    """The baseline packages' versions ("not installed" for the missing ones)."""

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return ", ".join(
        [f"{name} {version(name)}" for name in BASELINE_PACKAGES]
        + [f"ir-measures {version('ir-measures')}"]
    )


def cell(figures: dict[str, float]) -> str:
    """A table cell: nDCG@10 / MAP / Recall@100."""
    return " / ".join(f"{figures[m]:.3f}" for m in MEASURES)


def table(title: str, rows: dict[str, list[dict[str, float]]], product: str | None) -> list[str]:
    """One variant's table: a row per engine (a cell per collection, then the mean), the best
    of the other engines per column, and the product's difference to it."""
    header = ["engine", *(COLLECTIONS[c] for c in COLLECTIONS), "mean"]
    lines = [f"{title} (each cell: nDCG@10 / MAP / Recall@100)", ""]
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]

    def with_mean(cells: list[dict[str, float]]) -> list[dict[str, float]]:
        return cells + [{m: sum(c[m] for c in cells) / len(cells) for m in MEASURES}]

    measured = {label: with_mean(cells) for label, cells in rows.items()}
    for label, cells in measured.items():
        lines.append("| " + " | ".join([label, *map(cell, cells)]) + " |")
    others = [cells for label, cells in measured.items() if label != product]
    if others:
        best = [
            {m: max(cells[i][m] for cells in others) for m in MEASURES}
            for i in range(len(header) - 1)
        ]
        lines.append("| " + " | ".join(["best of the other engines", *map(cell, best)]) + " |")
        if product in measured:
            difference = [
                " / ".join(f"{ours[m] - theirs[m]:+.3f}" for m in MEASURES)
                for ours, theirs in zip(measured[product], best, strict=True)
            ]
            lines.append("| " + " | ".join(["product − best", *difference]) + " |")
    return lines


def main(argv: list[str] | None = None) -> None:
    """Measure every available engine on the four collections, full and short queries."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data folder")
    parser.add_argument("--engines", help="comma-separated engine keys (default: all)")
    parser.add_argument(
        "--lucene-jars", type=Path, default=LUCENE_JARS, help="folder with Lucene's jars"
    )
    args = parser.parse_args(argv)
    chosen = engines(args.lucene_jars)
    if args.engines:
        wanted = set(args.engines.split(","))
        unknown = wanted - {e.key for e in chosen}
        if unknown:
            sys.exit(f"unknown engine(s): {', '.join(sorted(unknown))}")
        chosen = [e for e in chosen if e.key in wanted]

    full = {name: read_collection(need(args.data / name)) for name in COLLECTIONS}
    variants = {
        "Full queries": full,
        "Short queries (first three words that are not stop words)": {
            name: collection.shortened() for name, collection in full.items()
        },
    }
    print(machine_line())
    print(f"baselines: {versions()}; Lucene {lucene_version(args.lucene_jars)}")
    for name, collection in full.items():
        print(
            f"{COLLECTIONS[name]}: {len(collection.articles)} documents, "
            f"{len(collection.judged_queries())} judged queries"
        )

    rows: dict[str, dict[str, list[dict[str, float]]]] = {title: {} for title in variants}
    notes: list[str] = []
    skipped: list[str] = []
    for engine in chosen:
        reason = engine.missing()
        if reason:
            skipped.append(f"{engine.label}: {reason}")
            continue
        for title, collections in variants.items():
            cells = []
            for collection in collections.values():
                start = time.perf_counter()
                run = engine.rank(collection)
                seconds = time.perf_counter() - start
                cells.append(measure(collection, run).overall)
                notes.append(
                    f"{engine.label} on {collection.name}: index + queries {seconds:.1f} s"
                )
                print(f"  {notes[-1]}", file=sys.stderr, flush=True)
            rows[title][engine.label] = cells

    product = chosen[0].label if chosen and chosen[0].key == "product" else None
    for title in variants:
        print()
        print("\n".join(table(title, rows[title], product)))
    print()
    for line in skipped:
        print(f"skipped, {line}")
    print("wall time (shared machine; not a speed comparison):")
    for note in notes:
        print(f"  {note}")


if __name__ == "__main__":
    main()
