"""`search ingest | crawl | clean`: articles from files and sites into the store and the index."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import click

from search import pipeline, settings
from search.clean import CleanError, clean_document
from search.cli.options import index_dir_option, is_verbose, progress_stream, setting_option
from search.crawl.crawl import CrawlOptions, CrawlStats
from search.crawl.fetch import FetchPolicy, crawler_user_agent
from search.crawl.urls import BadURL
from search.errors import BadAliases, StoreDamaged, WriterBusy
from search.folder_messages import damaged, writing_errors
from search.progress import ProgressLine
from search.sources import JSONL, REUTERS, Skipped, find_files, read_file
from search.store import Outcome, State

logger = logging.getLogger(__name__)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@index_dir_option
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
    progress = ProgressLine(progress_stream())
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


@click.command()
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
@setting_option("CRAWL_DELAY", "--delay", type=click.FloatRange(0))
@setting_option("CRAWL_CONCURRENCY", "--concurrency", type=click.IntRange(1, 64))
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
@setting_option("CRAWL_TIMEOUT", "--timeout", type=click.FloatRange(0.01))
@setting_option("CRAWL_MAX_BYTES", "--max-bytes", type=click.IntRange(1024))
@setting_option("CRAWL_RETRIES", "--retries", type=click.IntRange(0, 10))
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
@index_dir_option
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
    # (rewritten in place on a terminal, a log line every 5 s otherwise)
    progress = ProgressLine(progress_stream(), interval=5)
    try:
        result = pipeline.crawl(
            index_dir, policy, options, lambda stats: progress.show(_crawl_line(stats))
        )
    except (BadURL, WriterBusy, BadAliases) as error:
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
    shown = failed + skipped[: max(0, 50 - len(failed))] if not is_verbose() else problems
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


def _user_agent() -> str:
    """The crawler's own User-Agent, with the operator's contact (warning when there is none)."""
    contact = settings.from_env("CRAWL_CONTACT")
    if not contact:
        logger.warning("SEARCH_CRAWL_CONTACT is not set: site owners cannot reach you")
    return crawler_user_agent(contact)


def _crawl_line(stats: CrawlStats) -> str:
    """The crawl's status: what was fetched, queued, indexed, skipped and failed so far."""
    return (
        f"fetched {stats.fetched + stats.not_modified}  queued {stats.queued}  "
        f"indexed {stats.indexed}  skipped {stats.skipped}  errors {stats.errors}  "
        f"{stats.rate:.1f} pages/s"
    )


@click.command()
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
