"""`search export`: every match of a search as CSV or JSON Lines, as /api/export gives it."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import click

from search import export as formats
from search.cli.options import index_dir_option
from search.engine.scoring import Ranking
from search.engine.searcher import Searcher
from search.errors import IndexMissing, InvalidRequest
from search.folder_messages import data_folder
from search.request import SORTS, Limits, SearchRequest


@click.command("export")
@click.argument("text")
@click.option(
    "--format",
    "form",
    type=click.Choice(formats.FORMATS),
    default="csv",
    show_default=True,
    help="CSV (a header row; lists joined by ' | ') or JSON Lines (one result a line).",
)
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="relevance",
    show_default=True,
    help="Rank order, or newest first (an empty TEXT is always newest first).",
)
@click.option("--topic", multiple=True, help="Only articles with this topic (repeatable).")
@click.option("--person", multiple=True, help="Only articles naming this person (repeatable).")
@click.option("--source", multiple=True, help="Only articles from this source (repeatable).")
@click.option(
    "--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="Published on or after."
)
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Published on or before.")
@click.option("--story", type=click.IntRange(1), help="Only the articles of this story.")
@click.option(
    "--collapse/--no-collapse",
    default=True,
    show_default=True,
    help="One row per story (its best ranked article), as the search shows them; or every article.",
)
@click.option("--snippets", is_flag=True, help="Add each result's snippet (slower).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file instead of standard output.",
)
@index_dir_option
def export_command(
    text: str,
    form: str,
    sort: str,
    topic: tuple[str, ...],
    person: tuple[str, ...],
    source: tuple[str, ...],
    date_from,
    date_to,
    story: int | None,
    collapse: bool,
    snippets: bool,
    output: Path | None,
    index_dir: Path,
) -> None:
    """Write every match of a search (same syntax as the search box), in rank order or
    newest first, as CSV or JSON Lines: the rows /api/export gives. An empty TEXT ("")
    exports every article, newest first.
    """
    params = {"q": [text], "sort": [sort], "collapse": ["1" if collapse else "0"]}
    params |= {"topic": list(topic), "person": list(person), "source": list(source)}
    for name, day in (("from", date_from), ("to", date_to)):
        if day is not None:
            params[name] = [date.isoformat(day.date())]
    if story is not None:
        params["story"] = [str(story)]
    limits = Limits.from_settings()
    try:
        request = SearchRequest.from_params(params, limits)
        ranking = Ranking.from_settings()  # (the order /api/search gives, SEARCH_FEEDBACK too)
        data_folder(index_dir)
        with Searcher(index_dir, limits, ranking) as searcher:
            found = searcher.export(request, snippets)
            out = output.open("wb") if output else sys.stdout.buffer
            try:
                for part in formats.encode(found.batches(), form, snippets):
                    out.write(part)
            finally:
                if output:
                    out.close()
                else:
                    out.flush()
    except (InvalidRequest, IndexMissing, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if output:
        click.echo(f"{found.total} results written to {output}", err=True)
