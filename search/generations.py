"""Index generations on disk: the LIVE pointer, the write lock and pruning (no Whoosh).

A data folder holds ``generations/gen-N/`` (one Whoosh index each) and ``LIVE``, which names
the generation being served. Writers (search.engine.writer) build a new generation beside the
live one and switch LIVE atomically; readers only ever follow LIVE.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from search.errors import WriterBusy

GENERATIONS_DIR = "generations"
LIVE_FILE = "LIVE"  # holds the name of the live generation; replaced atomically
LOCK_FILE = "write.lock"
_PREFIX = "gen-"


@dataclass(frozen=True)
class Generation:
    """One index generation on disk."""

    name: str
    path: Path


def generations_dir(data_dir: Path) -> Path:
    """Return the folder that holds the generations of ``data_dir``."""
    return Path(data_dir) / GENERATIONS_DIR


def live_generation(data_dir: str | Path) -> Generation | None:
    """Return the live generation of ``data_dir``, or None before the first index is built."""
    try:
        name = (Path(data_dir) / LIVE_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return Generation(name, generations_dir(Path(data_dir)) / name)


def list_generations(data_dir: str | Path) -> list[Generation]:
    """Return the generations on disk, oldest first (complete or not)."""
    folder = generations_dir(Path(data_dir))
    if not folder.is_dir():
        return []
    names = sorted(p.name for p in folder.iterdir() if p.name.startswith(_PREFIX))
    return [Generation(n, folder / n) for n in names]


@contextmanager
def write_lock(data_dir: str | Path, timeout: float) -> Iterator[None]:
    """Hold the data folder's single write lock, waiting up to ``timeout`` seconds.

    The lock is an ``flock``: the kernel drops it when its holder dies, so a killed ingest or
    reindex never leaves a stale lock behind.

    Raises:
        WriterBusy: another ingest or reindex kept the lock for the whole wait.
    """
    path = Path(data_dir) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WriterBusy(
                        f"another ingest or reindex is writing to {data_dir} "
                        f"(waited {timeout:g} s); try again when it has finished"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def switch_live(data_dir: Path, name: str) -> None:
    """Point LIVE at generation ``name`` atomically (write a temporary file, fsync, rename)."""
    tmp = data_dir / f".{LIVE_FILE}.tmp"
    with open(tmp, "w") as handle:
        handle.write(name + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, data_dir / LIVE_FILE)
    dir_fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def prune(data_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` generations up to the live one, and any newer debris.

    Called with the write lock held, so no other writer is building a generation. The previous
    generations are kept so that a web process still reading one finishes its request.
    """
    live = live_generation(data_dir)
    for generation in list_generations(data_dir):
        if live is None or generation.name > live.name:
            # Left by a reindex (or a first ingest) that failed or was killed before switching.
            shutil.rmtree(generation.path, ignore_errors=True)
    complete = [g for g in list_generations(data_dir) if live and g.name <= live.name]
    for generation in complete[: max(0, len(complete) - keep)]:
        shutil.rmtree(generation.path, ignore_errors=True)


def new_generation_path(data_dir: Path) -> Generation:
    """Make the folder of the next generation (numbered after every one on disk)."""
    existing = list_generations(data_dir)
    number = int(existing[-1].name[len(_PREFIX) :]) + 1 if existing else 1
    name = f"{_PREFIX}{number:06d}"
    path = generations_dir(data_dir) / name
    path.mkdir(parents=True)
    return Generation(name, path)
