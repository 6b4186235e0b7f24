"""`search crawl | ingest | clean | reindex | query | export | stats | eval | serve`: the command
line.

Argument parsing and printing only: the work is search.pipeline's, and what to tell an operator
about a data folder is search.folder_messages'. The group and its logging are here; each module
beside it holds commands that belong together.
"""

from __future__ import annotations

import logging

import click

from search.cli import collect, export, index, query, serve

DISTRIBUTION = "news-search"
# Loggers whose records are the product's own; other libraries' are shown only with -v.
OWN_LOGGERS = ("search", "web", "__main__")


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


for command in (
    collect.crawl,
    collect.ingest,
    collect.clean,
    index.reindex,
    query.query,
    export.export_command,
    index.stats,
    query.evaluate_command,
    serve.serve,
):
    main.add_command(command)
