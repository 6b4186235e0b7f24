"""Every response of a fixed set of requests, written to files: compare two versions of the code.

Usage: python -m bench.responses DATA_DIR OUT_DIR

Writes OUT_DIR/api.jsonl (the JSON of /api/search for bench.search_bench's 300 queries, as
status and body) and OUT_DIR/pages.txt (the page and the JSON of a dozen queries that use the
documented syntax, and the other endpoints), with timings and index ages masked, so that
``cmp`` tells whether a change that should not change behaviour did. Run it with each version
of the code (a `git worktree` of the old one) on the same data folder.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from urllib.parse import urlencode

from bench.common import need
from bench.search_bench import headings, make_queries
from web import create_app

SYNTAX = [
    {"q": ["oil prices"]},
    {"q": ["energy -oil"]},
    {"q": ["gold NOT silver"]},
    {"q": ['"interest rates"~3']},
    {"q": ["bundes*"]},
    {"q": ["opek~"]},
    {"q": ["title:coffee"]},
    {"q": ['person:"james baker" dollar']},
    {"q": ["crude"], "topic": ["crude"]},
    {"q": ["wheat"], "sort": ["newest"], "page": ["2"]},
    {"q": ["yen dollar"], "recency": ["0.5"], "explain": ["1"]},
    {"q": ["ministr"]},
    {"q": [""]},
    {"q": ["the"]},
    {"q": ['"unbalanced']},
    {"q": ["url:foo bar"]},
    {"q": ["dollar"], "from": ["1987-03-01"], "to": ["1987-03-15"]},
]
OTHERS = [
    "/api/suggest?q=bak",
    "/api/suggest?q=ja",
    "/api/similar/reuters-100",
    "/article/reuters-100",
    "/api/article/reuters-5",
    "/help",
    "/api/search?q=%22&per_page=0",
    "/api/health",
]
_VARYING = [
    (re.compile(r'"took_ms": ?[0-9.]+'), '"took_ms": X'),
    (re.compile(r'"index_age_seconds": ?[0-9.]+'), '"index_age_seconds": X'),
    (re.compile(r"in [0-9.]+ ms"), "in X ms"),
    (re.compile(r"\(\d[0-9.]* ms\)"), "(X ms)"),
]


def _masked(text: str) -> str:
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return text


def main() -> None:
    """Write the responses of DATA_DIR's index into OUT_DIR."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args()
    need(args.data_dir / "corpus.sqlite3")
    queries = make_queries(headings(args.data_dir))
    client = create_app({"INDEX_DIR": str(args.data_dir), "TESTING": True}).test_client()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for params in queries:
        response = client.get("/api/search?" + urlencode(params, doseq=True))
        body = response.get_json()
        body.pop("took_ms", None)
        lines.append(json.dumps([response.status_code, body], ensure_ascii=False, sort_keys=True))
    (args.out_dir / "api.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    pages = []
    paths = [p + "?" + urlencode(q, doseq=True) for q in SYNTAX for p in ("/api/search", "/")]
    for path in paths + OTHERS:
        response = client.get(path)
        pages.append(f"### {path} {response.status_code}\n{_masked(response.get_data(True))}")
    (args.out_dir / "pages.txt").write_text("\n".join(pages), encoding="utf-8")
    print(f"{len(lines)} search responses and {len(pages)} pages in {args.out_dir}")


if __name__ == "__main__":
    main()
