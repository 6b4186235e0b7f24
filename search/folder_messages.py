"""What the command line tells an operator about a data folder: that it is missing or is not
one, that its corpus store is damaged, or that a write to it failed, and what still stands."""

from __future__ import annotations

import shlex
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from search.errors import BadAliases, IndexingFailed, NoCorpusStore, StoreDamaged, WriterBusy
from search.generations import GENERATIONS_DIR, LIVE_FILE, LOCK_FILE, live_generation
from search.store import STORE_FILE, is_damage


def data_folder(index_dir: Path) -> Path:
    """``index_dir``, when it is a data folder (it holds a corpus store or an index).

    Only ``ingest`` and ``crawl`` make a data folder: elsewhere a mistyped path is an error
    that names it, and nothing is created.
    """
    quoted = shlex.quote(str(index_dir))
    make = f"`search ingest FILES --index-dir {quoted}` (or `search crawl`) makes one"
    if not index_dir.exists():
        raise click.ClickException(f"there is no data folder {index_dir}: {make}")
    if not index_dir.is_dir():
        raise click.ClickException(f"{index_dir} is a file, not a data folder")
    # The write lock is the first thing an ingest or crawl makes.
    held = (STORE_FILE, LIVE_FILE, LOCK_FILE, GENERATIONS_DIR)
    if not any((index_dir / name).exists() for name in held):
        raise click.ClickException(
            f"{index_dir} is not a data folder (it holds no corpus store or index): {make}"
        )
    return index_dir


def damaged(error: Exception, index_dir: Path) -> str:
    """What to do about a corpus store that is damaged or is not a database at all."""
    if not isinstance(error, StoreDamaged):
        error = StoreDamaged(f"the corpus store {index_dir / STORE_FILE} is damaged ({error})")
    live = live_generation(index_dir)
    untouched = f"the live index ({live.name}) is untouched and serves" if live else "no index"
    return (
        f"{error}. Restore it from a backup, or move it aside and ingest (or crawl) the "
        f"articles again into a new one; {untouched} meanwhile."
    )


@contextmanager
def writing_errors(index_dir: Path) -> Iterator[None]:
    """Turn the errors of a write to the data folder into messages saying what still stands."""
    try:
        yield
    except (WriterBusy, NoCorpusStore, BadAliases) as error:
        raise click.ClickException(str(error)) from None
    except StoreDamaged as error:
        raise click.ClickException(damaged(error, index_dir)) from None
    except sqlite3.Error as error:
        if is_damage(error):
            raise click.ClickException(damaged(error, index_dir)) from None
        raise click.ClickException(write_failed(error, index_dir)) from None
    except (OSError, IndexingFailed) as error:
        raise click.ClickException(write_failed(error, index_dir)) from None


def write_failed(error: OSError | sqlite3.Error | IndexingFailed, index_dir: Path) -> str:
    """What went wrong writing to the data folder, and what still stands."""
    live = live_generation(index_dir)
    serving = f"generation {live.name} keeps serving as before" if live else "there is no index yet"
    if isinstance(error, IndexingFailed):
        return f"indexing failed: {error}. The live index is untouched: {serving}."
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    where = f" ({error.filename})" if isinstance(error, OSError) and error.filename else ""
    return (
        f"cannot write to {index_dir}: {reason}{where}. The live index is untouched: {serving}. "
        "Free some space or fix the folder's permissions, then run the command again."
    )
