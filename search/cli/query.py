"""`search query | eval`: ranked results in a terminal, and the ranking measured."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import click

from search.cli.options import index_dir_option
from search.engine.scoring import Ranking
from search.engine.searcher import Searcher
from search.errors import IndexMissing, InvalidRequest
from search.folder_messages import data_folder
from search.request import Limits, SearchRequest


@click.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON search response.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@index_dir_option
def query(text: str, as_json: bool, limit: int, index_dir: Path) -> None:
    """Print the ranked results of a query (same syntax as the search box).

    An empty TEXT is a usage error: there is nothing to rank by (the page and /api/search
    browse every article, newest first, without one).
    """
    if not text.strip():
        raise click.UsageError("give the words to search for; TEXT is empty")
    limits = Limits.from_settings()
    try:
        request = SearchRequest.from_params({"q": [text], "per_page": [str(limit)]}, limits)
        ranking = Ranking.from_settings()
        data_folder(index_dir)
        with Searcher(index_dir, limits, ranking) as searcher:
            response = searcher.search(request)
    except (InvalidRequest, IndexMissing, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(response.to_dict(), ensure_ascii=False, indent=2))
        return
    for notice in response.notices:
        click.echo(f"note: {notice}", err=True)
    if response.suggestion:
        click.echo(f"did you mean: {response.suggestion}", err=True)
    click.echo(f"{response.total} results in {response.took_ms} ms")
    for rank, hit in enumerate(response.results, 1):
        date = (hit.published or "")[:10]
        click.echo(f"\n{rank}. {click.style(hit.title, bold=True)}")
        score = f"  score {hit.score}" if hit.score is not None else ""
        click.echo(f"   {hit.source} {date}{score}  id {hit.id}")
        click.echo(f"   {_terminal(hit.snippet)}")


def _terminal(snippet: str) -> str:
    """A snippet for the terminal: matches in bold, entities decoded."""
    parts = re.split(r"<mark>(.*?)</mark>", snippet)
    return "".join(
        click.style(html.unescape(p), bold=True) if i % 2 else html.unescape(p)
        for i, p in enumerate(parts)
    )


@click.command("eval")
@click.argument("paths", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--collection",
    "kind",
    type=click.Choice(["cranfield", "cisi", "trec"]),
    help="The collections' format: Cranfield 1400, CISI, or a generic folder (docs.jsonl, "
    "queries.tsv, qrels.txt) [default: told by each folder's files].",
)
@click.option(
    "--short/--full-only",
    default=True,
    show_default=True,
    help="Also run each collection's short queries: every query cut to its first three words "
    "that are not stop words, as a search box gets them.",
)
@click.option(
    "--run-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the ranking of the full queries as a TREC run file (one collection only).",
)
@click.option("--per-query", is_flag=True, help="Print the figures of every query too.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def evaluate_command(
    paths: tuple[Path, ...],
    kind: str | None,
    short: bool,
    run_file: Path | None,
    per_query: bool,
    as_json: bool,
) -> None:
    """Measure the ranking on test collections: nDCG@10, MAP and Recall@100.

    Each PATH is a collection's folder. Each is indexed in a temporary folder with the
    product's own schema, analyzers and ranking; every judged query is run and the ranking
    scored with ir-measures. One table: a row per collection (and per short variant), then the
    means over the collections.
    """
    from search.evaluate import CollectionError, evaluate, mean, read_collection, write_run

    if run_file and len(paths) > 1:
        raise click.UsageError("--run-file takes one collection")
    evaluations = []
    try:
        for path in paths:
            evaluations += evaluate(read_collection(path, kind), short=short)
    except CollectionError as error:
        raise click.ClickException(str(error)) from None
    if run_file:
        write_run(evaluations[0], run_file)
    variants = {"full queries": evaluations[:: 2 if short else 1]}
    if short:
        variants["short queries"] = evaluations[1::2]
    means = {name: mean(group) for name, group in variants.items()} if len(paths) > 1 else {}
    if as_json:
        data = {
            "collections": [e.to_dict(per_query=per_query) for e in evaluations],
            "mean": means,
        }
        click.echo(json.dumps(data, indent=2))
        return
    names = list(evaluations[0].overall)
    labels = [e.collection for e in evaluations] + [f"mean, {name}" for name in means]
    width = max(map(len, labels)) + 2
    click.echo(
        f"{'collection':<{width}}{'documents':>10}{'queries':>9}"
        + "".join(f"{name:>12}" for name in names)
    )
    for e in evaluations:
        figures = "".join(f"{e.overall[name]:>12.4f}" for name in names)
        click.echo(f"{e.collection:<{width}}{e.documents:>10}{e.queries:>9}{figures}")
    for name, figures in means.items():
        values = "".join(f"{figures[m]:>12.4f}" for m in names)
        click.echo(f"{'mean, ' + name:<{width}}{'':>19}{values}")
    if per_query:
        for e in evaluations:
            click.echo(f"\n{e.collection}\nquery\t" + "\t".join(names))
            for qid, figures in e.per_query.items():
                click.echo(qid + "\t" + "\t".join(f"{figures.get(n, 0.0):.4f}" for n in names))
