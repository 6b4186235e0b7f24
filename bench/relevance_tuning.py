"""Ranking defaults chosen by leaving one test collection out.

Usage: python -m bench.relevance_tuning [--data DIR] [--jobs N] [--k1 ...] [--b ...]
       [--feedback ...] [--json FILE]

Indexes Cranfield, CISI, MED and NPL once each, then ranks every judged query of each, full
and short (:meth:`search.evaluate.Collection.shortened`), under every setting of the grid: each
combination of the listed values of the ranking's knobs (:class:`search.engine.scoring.Ranking`).
A setting's figure on a collection is its nDCG@10 averaged over the full and the short queries.

Then, for each collection in turn, the setting with the best mean figure on the other three is
scored on it (the left-out table), beside the shipped default and the best setting of that
collection alone (which no fold may pick: it is there to show what fitting would have won).
Last, every knob's own table: the figure of each of its values with the others at their
defaults, so that a knob that changes nothing shows it.

The grid is the product's own ranking code; nothing here is used by the product.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, fields, replace
from itertools import product
from pathlib import Path

from bench.common import SHARED_DATA, machine_line, need
from search.engine.scoring import Ranking
from search.engine.searcher import Searcher
from search.evaluate import Collection, index, measure, rank, read_collection

COLLECTIONS = ("cranfield", "cisi", "med", "npl")
GRID = {
    "k1": (0.9, 1.2, 1.5, 2.0),
    "b": (0.5, 0.65, 0.75, 0.9),
    "feedback": (0.0, 0.2, 0.3, 0.5),
}
VARIANTS = ("full", "short")

# Set in each worker process: collection name -> (its index folder, its variants).
_COLLECTIONS: dict[str, tuple[Path, dict[str, Collection]]] = {}


def _load(folders: dict[str, tuple[str, str]]) -> None:
    """Read the collections in a worker (each its folder and its index's folder)."""
    for name, (source, indexed) in folders.items():
        collection = read_collection(source)
        _COLLECTIONS[name] = (Path(indexed), {"full": collection, "short": collection.shortened()})


def score(ranking: Ranking) -> dict[str, dict[str, float]]:
    """nDCG@10 of ``ranking`` on every collection: {collection: {variant: figure}}."""
    figures: dict[str, dict[str, float]] = {}
    for name, (folder, variants) in _COLLECTIONS.items():
        with Searcher(folder, ranking=ranking) as searcher:
            figures[name] = {
                variant: measure(collection, rank(collection, searcher)).overall["nDCG@10"]
                for variant, collection in variants.items()
            }
    return figures


def figure(result: dict[str, dict[str, float]], name: str) -> float:
    """A setting's figure on one collection: the mean of its full and short queries."""
    return sum(result[name].values()) / len(result[name])


def label(ranking: Ranking) -> str:
    """The knobs of a setting, as the table shows them."""
    return ", ".join(f"{knob} {value:g}" for knob, value in asdict(ranking).items())


def row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def left_out_table(results: dict[Ranking, dict], default: Ranking) -> list[str]:
    """For each collection: the setting best on the other three, scored on it."""
    lines = [
        row(
            [
                "left out",
                "chosen on the other three",
                "its figure",
                "shipped default",
                "default − chosen",
                "best on this one alone",
            ]
        ),
        row(["---"] * 6),
    ]
    worst = float("inf")
    for name in COLLECTIONS:
        others = [other for other in COLLECTIONS if other != name]
        chosen = max(results, key=lambda r: sum(figure(results[r], o) for o in others))
        alone = max(results, key=lambda r: figure(results[r], name))
        mine, theirs = figure(results[default], name), figure(results[chosen], name)
        worst = min(worst, mine - theirs)
        lines.append(
            row(
                [
                    name,
                    label(chosen),
                    f"{theirs:.4f}",
                    f"{mine:.4f}",
                    f"{mine - theirs:+.4f}",
                    f"{figure(results[alone], name):.4f} ({label(alone)})",
                ]
            )
        )
    lines += [
        "",
        f"The shipped default against each fold's choice, at worst: {worst:+.4f} "
        f"({'within' if worst >= -0.01 else 'NOT within'} 0.01 on every collection).",
    ]
    return lines


def knob_tables(results: dict[Ranking, dict], default: Ranking) -> list[str]:
    """Each knob's values with the others at their defaults: full / short nDCG@10."""
    lines: list[str] = []
    for knob in GRID:
        lines += ["", f"{knob} (the others at their defaults; full / short nDCG@10)", ""]
        lines += [row([knob, *COLLECTIONS, "mean"]), row(["---"] * (len(COLLECTIONS) + 2))]
        for value in GRID[knob]:
            setting = replace(default, **{knob: value})
            if setting not in results:
                continue
            result = results[setting]
            cells = [f"{result[n]['full']:.4f} / {result[n]['short']:.4f}" for n in COLLECTIONS]
            mean = sum(figure(result, n) for n in COLLECTIONS) / len(COLLECTIONS)
            marker = " (default)" if setting == default else ""
            lines.append(row([f"{value:g}{marker}", *cells, f"{mean:.4f}"]))
    return lines


def rank_all(settings: list[Ranking], data: Path, jobs: int) -> dict[Ranking, dict]:
    """Every setting's figures, the collections indexed once in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="tuning-") as tmp:
        folders = {}
        for name in COLLECTIONS:
            collection = read_collection(need(data / name))
            index(collection, Path(tmp) / name)
            folders[name] = (str(data / name), str(Path(tmp) / name))
            print(
                f"{name}: {len(collection.articles)} documents, "
                f"{len(collection.judged_queries())} judged queries"
            )
        start = time.perf_counter()
        results = {}
        with ProcessPoolExecutor(jobs, initializer=_load, initargs=(folders,)) as pool:
            for done, (setting, result) in enumerate(
                zip(settings, pool.map(score, settings), strict=True), 1
            ):
                results[setting] = result
                print(
                    f"  {done}/{len(settings)} {label(setting)}: "
                    + ", ".join(f"{n} {figure(result, n):.4f}" for n in COLLECTIONS),
                    file=sys.stderr,
                    flush=True,
                )
    print(f"ranked in {time.perf_counter() - start:.0f} s")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DATA, help="the shared data folder")
    parser.add_argument("--jobs", type=int, default=2, help="processes ranking at once")
    for knob, values in GRID.items():
        parser.add_argument(
            f"--{knob}", type=float, nargs="+", default=list(values), help="values to try"
        )
    parser.add_argument("--json", type=Path, help="also write every setting's figures here")
    parser.add_argument(
        "--results",
        type=Path,
        help="print the tables from figures an earlier run wrote with --json (ranks nothing)",
    )
    args = parser.parse_args(argv)
    for knob in GRID:
        GRID[knob] = tuple(getattr(args, knob))
    known = {f.name for f in fields(Ranking)}
    assert set(GRID) <= known, set(GRID) - known

    default = Ranking()
    settings = [
        Ranking(**dict(zip(GRID, values, strict=True))) for values in product(*GRID.values())
    ]
    if default not in settings:
        settings.append(default)
    print(machine_line())
    print(f"{len(settings)} settings; shipped default: {label(default)}")
    if args.results:
        saved = json.loads(args.results.read_text())
        results = {Ranking(**entry["setting"]): entry["figures"] for entry in saved}
        print(f"figures read from {args.results}")
    else:
        results = rank_all(settings, args.data, args.jobs)
    if args.json:
        args.json.write_text(
            json.dumps([{"setting": asdict(s), "figures": r} for s, r in results.items()], indent=1)
        )
    print("\nLeft out (each figure: nDCG@10, the mean of full and short queries)\n")
    print("\n".join(left_out_table(results, default)))
    print("\n".join(knob_tables(results, default)))


if __name__ == "__main__":
    main()
