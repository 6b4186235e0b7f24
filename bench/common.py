"""What every benchmark prints: the machine, the versions, and percentiles of timings."""

from __future__ import annotations

import os
import platform
import resource
import sqlite3
import statistics
import sys
from importlib import metadata
from pathlib import Path

from search import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("SEARCH_DATA_DIR", ROOT.parent / "shared" / "data"))
PACKAGES = ("Whoosh-Reloaded", "PyStemmer", "trafilatura", "Flask", "gunicorn")


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """One line naming the machine, Python, SQLite and the libraries that matter."""
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in PACKAGES)
    return (
        f"machine: {settings.cores()} cores, {cpu_model()}, {platform.system()} "
        f"{platform.release()}; Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; "
        f"{versions}"
    )


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile of ``values`` (nearest rank on the sorted values)."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary(label: str, millis: list[float]) -> str:
    """p50/p95/p99 and throughput of a list of latencies in milliseconds."""
    return (
        f"{label}: n={len(millis)} p50={percentile(millis, 50):.2f} ms "
        f"p95={percentile(millis, 95):.2f} ms p99={percentile(millis, 99):.2f} ms "
        f"mean={statistics.fmean(millis):.2f} ms ({1000 / statistics.fmean(millis):.0f} queries/s)"
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak resident memory (VmHWM) of process ``pid``, in MB; None when it is gone (an
    exited process not yet reaped has no memory figures either)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return None
    peaks = (
        int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:")
    )
    return next(peaks, None)


def children_peak_rss_mb(pid: int) -> dict[int, float]:
    """Peak resident memory (VmHWM) of each running child of process ``pid``, in MB."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return {}
    peaks = {child: vm_hwm_mb(child) for child in map(int, children)}
    return {child: peak for child, peak in peaks.items() if peak is not None}  # (gone meanwhile)


def memory_split_mb(pid: int) -> tuple[float, float] | None:
    """A process's resident memory now, in MB: its own (RssAnon) and the file pages it maps
    (RssFile: the index's files, shared with other processes through the page cache)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:
        return None
    found = dict(line.split(":", 1) for line in lines if ":" in line)
    return tuple(int(found[key].split()[0]) / 1024 for key in ("RssAnon", "RssFile"))


def build_fts5(articles, path: Path) -> None:
    """The baseline: an SQLite FTS5 index (porter unicode61) of the articles' titles and bodies."""
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='porter unicode61')")
    db.executemany("INSERT INTO docs VALUES (?, ?)", ((a.title, a.body) for a in articles))
    db.commit()
    db.close()


def need(path: Path) -> Path:
    """Exit with a clear message when a corpus is missing."""
    if not path.exists():
        sys.exit(f"{path} is absent: pass the path, or set SEARCH_DATA_DIR to the shared data")
    return path
