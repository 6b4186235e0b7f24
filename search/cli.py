"""`search ingest | clean | reindex | query | stats | serve`: the operator's command line."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

import click

from search import settings
from search.article import Article
from search.clean import CleanError, clean_document
from search.indexer import (
    IndexMissing,
    WriterBusy,
    build_generation,
    list_generations,
    live_generation,
    update_live,
    write_lock,
)
from search.scrape.files import Document, Skipped, find_files, read_file
from search.searcher import InvalidRequest, Limits, Searcher, SearchRequest
from search.store import ADDED, UNCHANGED, UPDATED, CorpusStore

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
WSGI_APP = "web:create_app()"
GUNICORN_CONFIG = "python:web.gunicorn_conf"
_SETTING = {s.name: s for s in settings.SETTINGS}


def _index_dir_option(command):
    setting = _SETTING["INDEX_DIR"]
    return click.option(
        "--index-dir",
        envvar=setting.env,
        default=setting.default,
        show_default=True,
        type=click.Path(file_okay=False, path_type=Path),
        help=f"{setting.help} [env: {setting.env}]",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="Say more (-vv for debugging).")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
def main(verbose: int, quiet: bool) -> None:
    """Full-text search for news: ingest files, rebuild the index, query it, serve it."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if verbose < 2:
        # trafilatura reports every short or odd page at WARNING; our own skip report suffices.
        logging.getLogger("trafilatura").setLevel(logging.ERROR)


def _writing(index_dir: Path):
    """The data folder's write lock, with a wait bounded by LOCK_TIMEOUT."""
    return write_lock(index_dir, settings.from_env("LOCK_TIMEOUT"))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_index_dir_option
def ingest(paths: tuple[Path, ...], index_dir: Path) -> None:
    """Clean files and folders of articles into the store and the live index.

    Reads HTML pages (.html, .htm), plain-text articles (.txt), Reuters-21578 SGML (.sgm) and
    JSON Lines of articles (.jsonl); folders are searched recursively (other files in them are
    passed over). Ingesting the same input again updates articles, never duplicates them.
    Inputs without article text are skipped; exits with 1 when any input failed (unreadable,
    malformed, unsupported).
    """
    files, skipped = find_files(paths)
    counts: Counter[str] = Counter()
    started = time.monotonic()
    try:
        with _writing(index_dir), CorpusStore(index_dir) as store:
            batch: list[Article] = []
            with click.progressbar(
                files, label="Ingesting", file=sys.stderr, show_pos=True
            ) as progress:
                for path in progress:
                    for item in read_file(path):
                        article = _clean_or_skip(item, skipped)
                        if article:
                            batch.append(article)
                        if len(batch) >= BATCH_SIZE:
                            counts.update(outcome for _, outcome in store.upsert(batch))
                            batch = []
            counts.update(outcome for _, outcome in store.upsert(batch))
            _index_pending(store, index_dir)
    except WriterBusy as error:
        raise click.ClickException(str(error)) from None
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(_write_failed(error, index_dir)) from None
    failed = [item for item in skipped if item.failed]
    click.echo(
        f"added {counts[ADDED]}, updated {counts[UPDATED]}, unchanged {counts[UNCHANGED]}, "
        f"skipped {len(skipped) - len(failed)} without text, failed {len(failed)} "
        f"in {time.monotonic() - started:.1f} s"
    )
    for item in skipped:
        verb = "failed" if item.failed else "skipped"
        click.echo(f"  {verb} {item.origin}: {item.reason}", err=True)
    if failed:
        sys.exit(1)


def _write_failed(error: OSError | sqlite3.Error, index_dir: Path) -> str:
    """What went wrong writing to the data folder, and what still stands."""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    where = f" ({error.filename})" if isinstance(error, OSError) and error.filename else ""
    live = live_generation(index_dir)
    serving = f"generation {live.name} keeps serving as before" if live else "there is no index yet"
    return (
        f"cannot write to {index_dir}: {reason}{where}. The live index is untouched: {serving}. "
        "Free some space or fix the folder's permissions, then run the command again."
    )


def _clean_or_skip(item: Document | Skipped, skipped: list[Skipped]) -> Article | None:
    if isinstance(item, Skipped):
        skipped.append(item)
        return None
    try:
        return clean_document(item)
    except CleanError as error:
        logger.debug("skipped %s: %s", item.origin, error)
        skipped.append(Skipped(item.origin, str(error), error.failed))
        return None


def _index_pending(store: CorpusStore, index_dir: Path) -> None:
    """Write every stored article the live index lacks (this run's, or a killed run's)."""
    pending = list(store.articles(pending_only=True))
    if pending or live_generation(index_dir) is None:
        update_live(index_dir, pending)
        store.mark_indexed(a.id for a in pending)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", help="The address the page was published at (for its id and links).")
def clean(file: Path, url: str | None) -> None:
    """Print the Article the cleaner makes of one page or file, as JSON.

    For a Reuters .sgm or a .jsonl file, prints one article per line.
    """
    files, missed = find_files([file])
    if missed:
        raise click.ClickException(f"{missed[0].origin}: {missed[0].reason}")
    for item in read_file(files[0]):
        if isinstance(item, Skipped):
            raise click.ClickException(f"{item.origin}: {item.reason}")
        try:
            article = clean_document(item, url=url)
        except CleanError as error:
            raise click.ClickException(f"{item.origin}: {error}") from None
        indent = None if item.kind in ("reuters", "jsonl") else 2
        click.echo(json.dumps(article.to_dict(), ensure_ascii=False, indent=indent))


@main.command()
@_index_dir_option
def reindex(index_dir: Path) -> None:
    """Rebuild the whole index from the corpus store as a new generation and switch to it.

    The live generation keeps serving until the new one is complete; a reindex that fails or
    is killed leaves it untouched.
    """
    started = time.monotonic()
    try:
        with _writing(index_dir), CorpusStore(index_dir) as store:
            total = store.count()
            with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
                generation, count = build_generation(
                    index_dir,
                    store.articles(),
                    keep=settings.from_env("KEEP_GENERATIONS"),
                    progress=bar.update,
                    procs=settings.from_env("INDEX_PROCS"),
                )
            store.mark_indexed()
    except WriterBusy as error:
        raise click.ClickException(str(error)) from None
    except (OSError, sqlite3.Error) as error:
        raise click.ClickException(_write_failed(error, index_dir)) from None
    click.echo(
        f"generation {generation.name} is live: {count} articles "
        f"in {time.monotonic() - started:.1f} s"
    )


@main.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON search response.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@_index_dir_option
def query(text: str, as_json: bool, limit: int, index_dir: Path) -> None:
    """Print the ranked results of a query (same syntax as the search box)."""
    try:
        request = SearchRequest.from_params({"q": [text], "per_page": [str(limit)]}, Limits())
        with Searcher(index_dir) as searcher:
            response = searcher.search(request)
    except (InvalidRequest, IndexMissing) as error:
        raise click.ClickException(str(error)) from None
    if as_json:
        click.echo(json.dumps(response, ensure_ascii=False, indent=2))
        return
    for notice in response["notices"]:
        click.echo(f"note: {notice}", err=True)
    if response["suggestion"]:
        click.echo(f"did you mean: {response['suggestion']}", err=True)
    click.echo(f"{response['total']} results in {response['took_ms']} ms")
    for rank, hit in enumerate(response["results"], 1):
        date = (hit["published"] or "")[:10]
        click.echo(f"\n{rank}. {click.style(hit['title'], bold=True)}")
        click.echo(f"   {hit['source']} {date}  score {hit['score']}  id {hit['id']}")
        click.echo(f"   {_terminal(hit['snippet'])}")


def _terminal(snippet: str) -> str:
    """A snippet for the terminal: matches in bold, entities decoded."""
    parts = re.split(r"<mark>(.*?)</mark>", snippet)
    return "".join(
        click.style(html.unescape(p), bold=True) if i % 2 else html.unescape(p)
        for i, p in enumerate(parts)
    )


@main.command()
@_index_dir_option
def stats(index_dir: Path) -> None:
    """Print counts: articles, per source, generations and the size of the index."""
    with CorpusStore(index_dir) as store:
        click.echo(f"articles: {store.count()} ({store.count_pending()} waiting for the index)")
        for source, count in store.count_by_source().items():
            click.echo(f"  {source or '(no source)'}: {count}")
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Worker processes [default: one per core]."
)
@_index_dir_option
def serve(host: str, port: int, workers: int | None, index_dir: Path) -> None:
    """Serve the search page and the JSON API with gunicorn (the production settings)."""
    from gunicorn.app.base import Application
    from gunicorn.util import import_app

    os.environ[_SETTING["INDEX_DIR"].env] = str(index_dir)

    class _Server(Application):
        def load_config(self):
            self.load_config_from_module_name_or_filename(GUNICORN_CONFIG)
            self.cfg.set("bind", f"{host}:{port}")
            if workers:
                self.cfg.set("workers", workers)

        def load(self):
            # The same application string as the production command; the engine never
            # imports the web package itself.
            return import_app(WSGI_APP)

    click.echo(f"serving {index_dir} at http://{host}:{port}", err=True)
    _Server().run()


if __name__ == "__main__":
    main()
