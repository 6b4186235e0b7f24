"""A realistic archive of any size, made from Reuters-21578, as JSON Lines for `search ingest`.

Usage: python -m bench.archive REUTERS_DATA_DIR OUT.jsonl --articles N [--seed S]

REUTERS_DATA_DIR is a data folder holding Reuters-21578
(`search ingest ../shared/data/reuters21578 --index-dir DIR`). Each article of the archive takes
a real story's headline, topics and people, and a body of about 2 KB: that story's own
sentences first, then sentences drawn from the whole collection's pool, so that words keep
their natural frequencies and a headline's words are in its body. Dates are spread over 30
years (1995 to 2024), sources over eight sites of unequal size. The same seed makes the same
archive, line for line.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from search.store import CorpusStore

SEED = 20261205
BODY_CHARS = 2000  # the mean length of a body
FIRST_DAY = datetime(1995, 1, 1, tzinfo=UTC)
DAYS = 30 * 365
# Sites and their shares of the archive.
SOURCES = {
    "wire.example.com": 30,
    "daily.example.org": 20,
    "markets.example.net": 15,
    "ledger.example.com": 10,
    "courier.example.org": 10,
    "herald.example.net": 7,
    "gazette.example.com": 5,
    "bulletin.example.org": 3,
}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
_TRAILER = re.compile(r"\s*\bReuter\b\s*$", re.IGNORECASE)


def sentences(body: str) -> list[str]:
    """A story's sentences, without the "REUTER" sign-off; blank lines joined."""
    text = _TRAILER.sub("", " ".join(body.split()))
    return [s for s in _SENTENCE_END.split(text) if len(s) > 20]


def stories(data_dir: Path) -> list[tuple[str, list[str], list[str], list[str]]]:
    """(headline, topics, people, sentences) of every Reuters story that has a body."""
    with CorpusStore(data_dir) as store:
        found = []
        for article in store.articles():
            own = sentences(article.body)
            if article.title and own:
                found.append((article.title, article.topics, article.people, own))
    return found


def generate(data_dir: Path, count: int, seed: int = SEED, first: int = 0):
    """Yield ``count`` articles (dicts of the JSON Lines form), the same for the same seed,
    numbered from ``first`` (their ids: "a" and the number)."""
    rng = random.Random(seed)
    pool = stories(data_dir)
    everything = [sentence for story in pool for sentence in story[3]]
    names, weights = list(SOURCES), list(SOURCES.values())
    for number in range(first, first + count):
        title, topics, people, own = pool[rng.randrange(len(pool))]
        target = rng.randint(BODY_CHARS // 2, BODY_CHARS * 3 // 2)
        body = list(own)
        size = sum(map(len, body))
        while size < target:
            sentence = everything[rng.randrange(len(everything))]
            body.append(sentence)
            size += len(sentence) + 1
        source = rng.choices(names, weights)[0]
        published = FIRST_DAY + timedelta(seconds=rng.randrange(DAYS * 86400))
        yield {
            "id": f"a{number}",
            "url": f"https://{source}/{published:%Y/%m}/{number}",
            "title": title,
            "body": "\n\n".join(
                " ".join(body[i : i + 4]) for i in range(0, len(body), 4)
            ),  # paragraphs of four sentences
            "topics": topics,
            "people": people,
            "published": published.isoformat().replace("+00:00", "Z"),
            "source": source,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="a data folder holding Reuters-21578")
    parser.add_argument("out", type=Path, help="the JSON Lines file to write")
    parser.add_argument("--articles", type=int, required=True, help="how many articles")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with open(args.out, "w", encoding="utf-8") as handle:
        for number, article in enumerate(generate(args.data_dir, args.articles, args.seed), 1):
            handle.write(json.dumps(article) + "\n")
            if number % 100_000 == 0:
                print(f"  {number} articles", file=sys.stderr, flush=True)
    size = args.out.stat().st_size
    print(
        f"{args.articles} articles, {size / 1e6:.0f} MB, in {time.perf_counter() - started:.0f} s "
        f"(seed {args.seed}): {args.out}"
    )


if __name__ == "__main__":
    main()
