"""`search crawl | ingest | clean | reindex | query | stats | eval | serve`: the command line.

Argument parsing and printing only (the work is search.pipeline's; what to tell an operator
about a data folder is search.folder_messages'), and longer than 500 lines: eight commands'
options and help, and what each prints, which read best side by side.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import TextIO

import click

from search import pipeline, settings
from search.clean import CleanError, clean_document
from search.crawl.crawl import CrawlOptions, CrawlStats
from search.crawl.fetch import FetchPolicy, crawler_user_agent
from search.crawl.reclean import Recleaned
from search.crawl.urls import BadURL
from search.engine.searcher import Searcher
from search.errors import (
    IndexMissing,
    InvalidRequest,
    StoreDamaged,
    WriterBusy,
)
from search.folder_messages import damaged, data_folder, writing_errors
from search.generations import (
    list_generations,
    live_generation,
)
from search.progress import ProgressLine
from search.request import Limits, SearchRequest
from search.sources import JSONL, REUTERS, Skipped, find_files, read_file
from search.store import STORE_FILE, CorpusStore, Outcome, State, is_damage

logger = logging.getLogger(__name__)

DISTRIBUTION = "news-search"
WSGI_APP = "web:create_app()"
# Loggers whose records are the product's own; other libraries' are shown only with -v.
OWN_LOGGERS = ("search", "web", "__main__")
GUNICORN_CONFIG = "python:web.gunicorn_conf"
_SETTING = {s.name: s for s in settings.SETTINGS}


def _setting_option(name: str, *decls: str, **kwargs):
    """A command option whose default (and environment variable) is the setting ``name``."""
    setting = _SETTING[name]
    return click.option(
        *decls,
        envvar=setting.env,
        default=setting.default,
        show_default=True,
        help=f"{setting.help} [env: {setting.env}]",
        **kwargs,
    )


_index_dir_option = _setting_option(
    "INDEX_DIR", "--index-dir", type=click.Path(file_okay=False, path_type=Path)
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name=DISTRIBUTION, prog_name="search", message="%(prog)s %(version)s")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what is done, and the warnings of the libraries used (-vv: debugging detail).",
)
@click.option("-q", "--quiet", is_flag=True, help="Log only errors.")
def main(verbose: int, quiet: bool) -> None:
    """Full-text search for news: crawl sites or ingest files, rebuild the index, query, serve."""
    level = (
        logging.ERROR if quiet else [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    )
    handler = logging.StreamHandler()
    # Other libraries (trafilatura, Beautiful Soup's encoding guesser, ...) report every odd
    # page, in their own words; the summary of an ingest or crawl says what became of each.
    others = (
        logging.CRITICAL if quiet or not verbose else [logging.WARNING, logging.NOTSET][verbose > 1]
    )
    handler.addFilter(_OwnRecords(others))
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler]
    )
    logging.captureWarnings(True)  # Python warnings of those libraries, by the same rule


class _OwnRecords(logging.Filter):
    """Lets the product's log records through, and other libraries' from level ``others`` up."""

    def __init__(self, others: int) -> None:
        super().__init__()
        self.others = others

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name.split(".")[0] in OWN_LOGGERS
        return own or record.levelno >= self.others


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@_index_dir_option
def ingest(paths: tuple[Path, ...], index_dir: Path) -> None:
    """Clean files and folders of articles into the store and the live index.

    Reads HTML pages (.html, .htm), plain-text articles (.txt), Reuters-21578 SGML (.sgm) and
    JSON Lines of articles (.jsonl); folders are searched recursively (other files in them are
    passed over). Ingesting the same input again updates articles, never duplicates them.
    Inputs without article text, and binary files, are skipped; exits with 1 when any input
    failed (unreadable, malformed, unsupported). Makes INDEX_DIR when it does not exist. On a
    terminal, a line per phase shows the articles done, the rate and the time left.
    """
    files, missed = find_files(paths)
    progress = ProgressLine(_progress_stream())
    try:
        with writing_errors(index_dir):
            result = pipeline.ingest(files, index_dir, progress, missed)
    finally:
        progress.finish()
    stored, failed = result.stored, result.failed
    click.echo(
        f"added {stored[Outcome.ADDED]}, updated {stored[Outcome.UPDATED]}, "
        f"unchanged {stored[Outcome.UNCHANGED]}, "
        f"skipped {len(result.skipped) - len(failed)} without text, failed {len(failed)} "
        f"in {result.seconds:.1f} s"
    )
    for item in result.skipped:
        verb = "failed" if item.failed else "skipped"
        click.echo(f"  {verb} {item.origin}: {item.reason}", err=True)
    if failed:
        sys.exit(1)


@main.command()
@click.argument("urls", nargs=-1)
@click.option(
    "--max-pages",
    default=1000,
    show_default=True,
    type=click.IntRange(1),
    help="Pages to fetch in this run (sitemaps, feeds and robots.txt not counted).",
)
@click.option(
    "--max-depth",
    default=5,
    show_default=True,
    type=click.IntRange(0),
    help="Links to follow away from a start URL, sitemap or feed.",
)
@click.option(
    "--allow-domain",
    "allow_domains",
    multiple=True,
    help="Also crawl this domain and its subdomains (repeatable); the start URLs' sites always.",
)
@_setting_option("CRAWL_DELAY", "--delay", type=click.FloatRange(0))
@_setting_option("CRAWL_CONCURRENCY", "--concurrency", type=click.IntRange(1, 64))
@click.option(
    "--per-host",
    default=1,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Requests in flight to one host at once.",
)
@click.option(
    "--user-agent",
    help="User-Agent header [default: NewsSearchBot/VERSION (news search crawler; +CONTACT)]",
)
@_setting_option("CRAWL_TIMEOUT", "--timeout", type=click.FloatRange(0.01))
@_setting_option("CRAWL_MAX_BYTES", "--max-bytes", type=click.IntRange(1024))
@_setting_option("CRAWL_RETRIES", "--retries", type=click.IntRange(0, 10))
@click.option(
    "--backoff",
    default=1.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds before the first retry (doubling each time) without a Retry-After.",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Allow loopback, private and link-local addresses (a local test site).",
)
@click.option(
    "--resume", is_flag=True, help="Go on with the interrupted crawl of this data folder."
)
@click.option(
    "--recrawl",
    is_flag=True,
    help="Fetch stored articles again (conditional GET: unchanged pages cost a 304).",
)
@_index_dir_option
def crawl(
    urls: tuple[str, ...],
    max_pages: int,
    max_depth: int,
    allow_domains: tuple[str, ...],
    delay: float,
    concurrency: int,
    per_host: int,
    user_agent: str | None,
    timeout: float,
    max_bytes: int,
    retries: int,
    backoff: float,
    allow_private: bool,
    resume: bool,
    recrawl: bool,
    index_dir: Path,
) -> None:
    """Crawl news sites from URLS (pages, feeds or sitemaps) into the store and the live index.

    Obeys robots.txt, keeps one request at a time per host with a delay between them, reads
    sitemaps, RSS/Atom feeds and in-site links, and stays on the start URLs' sites. Raw pages
    and the frontier are kept in the store: --resume goes on after an interruption or Ctrl-C.
    Exits with 1 when any page failed, 130 when interrupted.
    """
    if not urls and not resume:
        raise click.UsageError("give at least one URL to start from (or --resume)")
    policy = FetchPolicy(
        user_agent=user_agent or _user_agent(),
        timeout=timeout,
        max_bytes=max_bytes,
        retries=retries,
        backoff=backoff,
        allow_private=allow_private,
    )
    options = CrawlOptions(
        start_urls=list(urls),
        allow_domains=list(allow_domains),
        max_pages=max_pages,
        max_depth=max_depth,
        delay=delay,
        concurrency=concurrency,
        per_host=per_host,
        resume=resume,
        recrawl=recrawl,
    )
    progress = _CrawlProgress()
    try:
        result = pipeline.crawl(index_dir, policy, options, progress)
    except (BadURL, WriterBusy) as error:
        raise click.ClickException(str(error)) from None
    except StoreDamaged as error:
        raise click.ClickException(damaged(error, index_dir)) from None
    finally:
        progress.finish()
    stats, problems = result.stats, result.problems
    click.echo(
        f"fetched {stats.fetched} pages ({stats.not_modified} more not modified), "
        f"indexed {stats.indexed} articles ({stats.unchanged} unchanged), "
        f"skipped {stats.skipped}, failed {stats.errors}, {result.queued} left in the queue, "
        f"in {time.monotonic() - stats.started:.1f} s ({stats.rate:.1f} pages/s)"
    )
    failed = [p for p in problems if p.state == State.FAILED]
    skipped = [p for p in problems if p.state == State.SKIPPED]
    # Every failure is listed; skips (robots.txt, other types) can run to thousands.
    shown = failed + skipped[: max(0, 50 - len(failed))] if not _verbose() else problems
    for problem in shown:
        click.echo(f"  {problem.state} {problem.url}: {problem.reason}", err=True)
    if len(shown) < len(problems):
        click.echo(f"  ... and {len(problems) - len(shown)} more skipped (-v lists them)", err=True)
    if stats.limit_reached:
        click.echo(f"stopped at --max-pages {max_pages}; --resume goes on", err=True)
    if stats.interrupted:
        click.echo("interrupted; `search crawl --resume` goes on", err=True)
        sys.exit(130)
    if stats.errors:
        sys.exit(1)


def _progress_stream() -> TextIO | None:
    """Where progress goes: standard error, unless `search -q` asked for errors only."""
    return None if click.get_current_context().find_root().params.get("quiet") else sys.stderr


def _verbose() -> bool:
    """Whether `search -v` was given."""
    return click.get_current_context().find_root().params.get("verbose", 0) > 0


def _user_agent() -> str:
    """The crawler's own User-Agent, with the operator's contact (warning when there is none)."""
    contact = settings.from_env("CRAWL_CONTACT")
    if not contact:
        logger.warning("SEARCH_CRAWL_CONTACT is not set: site owners cannot reach you")
    return crawler_user_agent(contact)


class _CrawlProgress:
    """The live status line: rewritten in place on a terminal, a log line every 5 s otherwise."""

    def __init__(self) -> None:
        self.stream = _progress_stream()
        self.tty = bool(self.stream and self.stream.isatty())
        self.last = 0.0

    def __call__(self, stats: CrawlStats) -> None:
        if self.stream is None:
            return
        line = (
            f"fetched {stats.fetched + stats.not_modified}  queued {stats.queued}  "
            f"indexed {stats.indexed}  skipped {stats.skipped}  errors {stats.errors}  "
            f"{stats.rate:.1f} pages/s"
        )
        if self.tty:
            click.echo("\r\x1b[2K" + line, nl=False, err=True)
        elif time.monotonic() - self.last >= 5:
            click.echo(line, err=True)
            self.last = time.monotonic()

    def finish(self) -> None:
        """End the status line, so that what follows starts on a line of its own."""
        if self.tty:
            click.echo(err=True)


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
        indent = None if item.kind in (REUTERS, JSONL) else 2
        click.echo(json.dumps(article.to_dict(), ensure_ascii=False, indent=indent))


@main.command()
@click.option(
    "--reclean",
    is_flag=True,
    help="First re-run the cleaner over the crawled pages kept in the store (no network).",
)
@_index_dir_option
def reindex(reclean: bool, index_dir: Path) -> None:
    """Rebuild the whole index from the corpus store as a new generation and switch to it.

    The live generation keeps serving until the new one is complete; a reindex that fails or
    is killed leaves it untouched. A large store is indexed by one worker process per core
    (SEARCH_INDEX_WORKERS sets how many). INDEX_DIR must be a data folder with a corpus
    store already. On a terminal, a line shows the articles indexed, the rate and the time left.
    """
    data_folder(index_dir)
    progress = ProgressLine(_progress_stream())

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


@main.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the JSON search response.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@_index_dir_option
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
        data_folder(index_dir)
        with Searcher(index_dir, limits) as searcher:
            response = searcher.search(request)
    except (InvalidRequest, IndexMissing) as error:
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


@main.command()
@_index_dir_option
def stats(index_dir: Path) -> None:
    """Print counts: articles, per source, generations and the size of the index."""
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


@main.command("eval")
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


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers", type=click.IntRange(1, 64), help="Worker processes [default: one per core]."
)
@_index_dir_option
def serve(host: str, port: int, workers: int | None, index_dir: Path) -> None:
    """Serve the search page and the JSON API with gunicorn (the production settings).

    INDEX_DIR must be a data folder already (made by `search ingest` or `search crawl`).
    """
    from gunicorn.app.base import Application
    from gunicorn.util import import_app

    data_folder(index_dir)

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
