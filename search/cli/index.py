"""`search reindex | stats`: rebuild the index from the store, and count what is kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from search import names, pipeline
from search.cli.options import index_dir_option, progress_stream
from search.crawl.reclean import Recleaned
from search.engine.searcher import Searcher
from search.errors import IndexMissing, StoreDamaged
from search.folder_messages import damaged, data_folder, writing_errors
from search.generations import list_generations, live_generation
from search.progress import ProgressLine
from search.store import STORE_FILE, CorpusStore, Outcome, is_damage


@click.command()
@click.option(
    "--reclean",
    is_flag=True,
    help="First re-run the cleaner over the crawled pages kept in the store (no network).",
)
@index_dir_option
def reindex(reclean: bool, index_dir: Path) -> None:
    """Rebuild the whole index from the corpus store as a new generation and switch to it.

    The live generation keeps serving until the new one is complete; a reindex that fails or
    is killed leaves it untouched. A large store is indexed by one worker process per core
    (SEARCH_INDEX_WORKERS sets how many). INDEX_DIR must be a data folder with a corpus
    store already. On a terminal, a line shows the articles indexed, the rate and the time left.
    """
    data_folder(index_dir)
    progress = ProgressLine(progress_stream())

    def recleaned(done: Recleaned) -> None:
        progress.finish()
        click.echo(
            f"re-cleaned {done.pages} pages: "
            f"{done.stored[Outcome.ADDED]} articles added, "
            f"{done.stored[Outcome.UPDATED]} updated, "
            f"{done.stored[Outcome.UNCHANGED]} unchanged, "
            f"{done.skipped} without an article, {done.failed} failed"
        )

    try:
        with writing_errors(index_dir):
            result = pipeline.reindex(index_dir, reclean, recleaned, progress)
    finally:
        progress.finish()
    click.echo(
        f"generation {result.generation} is live: {result.articles} articles "
        f"in {result.seconds:.1f} s"
    )


@click.command()
@click.option(
    "--merges",
    is_flag=True,
    help=f"List every merge of names (without it, the {names.MERGES_SHOWN} largest of each kind).",
)
@index_dir_option
def stats(merges: bool, index_dir: Path) -> None:
    """Print counts: articles, per source, generations and the size of the index, and the
    canonical people and topics of the live generation with the spellings merged into them."""
    data_folder(index_dir)
    try:
        if not (index_dir / STORE_FILE).exists():
            # Opening one would make an empty store: stats only looks.
            click.echo(f"articles: no corpus store ({STORE_FILE}) in {index_dir}")
        else:
            _store_counts(index_dir)
    except StoreDamaged as error:
        raise click.ClickException(damaged(error, index_dir)) from None
    except sqlite3.DatabaseError as error:
        if not is_damage(error):
            raise
        raise click.ClickException(damaged(error, index_dir)) from None
    live = live_generation(index_dir)
    click.echo(f"live generation: {live.name if live else '(none)'}")
    for generation in list_generations(index_dir):
        size = sum(p.stat().st_size for p in generation.path.iterdir())
        marker = " (live)" if live and generation.name == live.name else ""
        click.echo(f"  {generation.name}{marker}: {size / 1e6:.1f} MB")
    if live:
        try:
            with Searcher(index_dir) as searcher:
                click.echo(f"indexed documents: {searcher.health()['documents']}")
        except IndexMissing as error:
            raise click.ClickException(str(error)) from None
        table = names.NameTable.load(live.path)
        if table is None:
            click.echo("names: not made canonical in this generation (run `search reindex`)")
        else:
            for line in names.describe(table, None if merges else names.MERGES_SHOWN):
                click.echo(line)


def _store_counts(index_dir: Path) -> None:
    """Print the corpus store's counts: articles, crawled pages, articles per source."""
    with CorpusStore(index_dir) as store:
        pending = store.count_pending()
        click.echo(f"articles: {store.count()} ({pending} waiting for the index)")
        counts = sorted(store.frontier_counts().items())
        frontier = ", ".join(f"{n} {state}" for state, n in counts)
        click.echo(f"crawled pages: {store.count_pages()} (last crawl: {frontier or 'none'})")
        for source, count in store.count_by_source().items():
            click.echo(f"  {source or '(no source)'}: {count}")
