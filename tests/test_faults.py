"""Load and faults: reindex under load, SIGKILL mid-reindex and mid-ingest, rivals, full disk.

Real processes throughout: gunicorn on a free loopback port, `search` commands as subprocesses
killed with SIGKILL, SQLite and Whoosh on disk. Each test prints what it did (requests sent,
failures, trials and their outcomes); run with ``-s`` to see it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pytest

from search.article import Article
from search.engine.searcher import Searcher
from search.generations import generations_dir, list_generations, live_generation
from search.generations import write_lock as hold_write_lock
from search.request import Limits, SearchRequest
from search.store import STORE_FILE
from tests.conftest import DEMO, ROOT, ingest, run_cli

pytestmark = pytest.mark.slow

# A bound on each HTTP request, generous because the machine is shared: it catches a hung
# worker, it does not measure speed.
REQUEST_TIMEOUT = 30.0
# The bound on any one `search` command (they take seconds).
COMMAND_TIMEOUT = 300.0
LOAD_REQUESTS = 2000
LOAD_CLIENTS = 8
KILL_TRIALS = 10
CORPUS = 600
WORDS = (
    "harbour ferry port crane cargo tide storm wind grain rail budget council vote tariff "
    "energy price market shares bond yield"
).split()


def search_command(*args: str) -> list[str]:
    """The `search` console script of this environment, with ``args``."""
    script = Path(sys.executable).with_name("search")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "search.cli", *args]


def make_articles(count: int, words: int = 150, seed: int = 1) -> list[dict]:
    """``count`` synthetic articles; every one has the word "harbour" in its title."""
    rng = random.Random(seed)
    return [
        {
            "id": f"doc-{n:05d}",
            "title": f"Harbour story {n}",
            "body": " ".join(rng.choice(WORDS) for _ in range(words)),
            "published": f"2026-{1 + n % 12:02d}-01T00:00:00Z",
            "source": f"Source {n % 5}",
        }
        for n in range(count)
    ]


def write_feed(path: Path, articles: list[dict]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in articles))
    return path


def store_snapshot(data_dir: Path) -> tuple[str, int, str]:
    """The store's integrity check, its article count and a digest of every stored row."""
    with closing(sqlite3.connect(data_dir / STORE_FILE)) as db:
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        rows = db.execute("SELECT id, data FROM articles ORDER BY id").fetchall()
    digest = hashlib.sha256(json.dumps(rows).encode()).hexdigest()
    return integrity, len(rows), digest


def indexed_total(data_dir: Path, q: str = "harbour") -> int:
    """How many articles the live generation finds for ``q`` (a fresh reader, as a new worker)."""
    return Searcher(data_dir).search(SearchRequest.from_params({"q": [q]}, Limits())).total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class Gunicorn:
    """A real gunicorn serving web:create_app() over ``data_dir`` on a free loopback port."""

    def __init__(self, data_dir: Path, tmp: Path, workers: int = 2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        metrics = tmp / "metrics"
        metrics.mkdir()
        env = {
            **os.environ,
            "SEARCH_INDEX_DIR": str(data_dir),
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        }
        self.log = open(tmp / "gunicorn.log", "w+b")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            # The production settings, on a loopback port with a bounded number of workers.
            [sys.executable, "-m", "gunicorn", "-c", "python:web.gunicorn_conf"]
            + ["--bind", f"127.0.0.1:{self.port}", "--workers", str(workers), "web:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if get(self.url + "/api/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("gunicorn did not come up in 60 s")

    def search(self, q: str = "harbour") -> dict:
        status, body = get(f"{self.url}/api/search?q={q}")
        assert status == 200, body[:300]
        return json.loads(body)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def serve(tmp_path):
    servers: list[Gunicorn] = []

    def start(data_dir: Path) -> Gunicorn:
        server = Gunicorn(data_dir, tmp_path)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def run_search(*args: str, env: dict | None = None, prefix: list[str] | None = None):
    """Run a `search` command as a subprocess to completion."""
    return subprocess.run(
        (prefix or []) + search_command(*args),
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        env={**os.environ, **(env or {})},
    )


def test_half_sent_requests_do_not_block_the_server(tmp_path, serve):
    # Requests run one at a time per worker, but each worker's threads read requests side by
    # side: a client that never finishes its request holds a thread, not the worker. (The
    # kernel may hand every stalled connection to one worker: fewer than its threads.)
    data_dir = tmp_path / "index"
    ingest(data_dir, write_feed(tmp_path / "a.jsonl", make_articles(20, words=30)))
    server = serve(data_dir)
    stalled = []
    for _ in range(3):
        stall = socket.create_connection(("127.0.0.1", server.port))
        stall.sendall(b"GET /api/search?q=harbour HTTP/1.1\r\nHost: localhost\r\n")
        stalled.append(stall)
    try:
        for _ in range(6):
            assert get(server.url + "/api/search?q=harbour")[0] == 200
    finally:
        for stall in stalled:
            stall.close()


def test_reindex_twice_and_ingest_under_load_fail_no_request(tmp_path, serve):
    data_dir = tmp_path / "index"
    count, added = 300, 50
    articles = make_articles(count + added, words=60)
    ingest(data_dir, write_feed(tmp_path / "a.jsonl", articles[:count]))
    more = write_feed(tmp_path / "b.jsonl", articles[count:])
    server = serve(data_dir)
    first = live_generation(data_dir).name
    paths = [
        "/api/search?q=harbour",
        "/?q=harbour",
        "/api/search?q=harbo*&per_page=20",
        "/api/search?q=story&sort=newest&page=3",
        "/api/health",
    ]
    done = Counter()
    lock = threading.Lock()
    failures: list[str] = []
    answers: list[tuple[float, float, str, int]] = []  # sent, answered, generation, total
    timings: list[tuple[float, float]] = []  # sent, answered: every request
    # The requests come in four blocks; block k waits for step k to finish, so that load is
    # running before, during and after each step however fast the server answers.
    block = LOAD_REQUESTS // 4
    released = [threading.Event() for _ in range(4)]
    released[0].set()

    def one(n: int) -> None:
        if not released[n // block].wait(COMMAND_TIMEOUT):
            failures.append(f"request {n} never released")
            return
        path = paths[n % len(paths)]
        sent = time.monotonic()
        try:
            status, body = get(server.url + path)
            if status != 200:
                failures.append(f"{path}: {status} {body[:200]!r}")
            elif path == paths[0]:
                response = json.loads(body)
                if response["total"] not in (count, count + added):
                    failures.append(f"{path}: total {response['total']}")
                answers.append((sent, time.monotonic(), response["generation"], response["total"]))
        except Exception as error:  # a refused or dropped connection is a failure too
            failures.append(f"{path}: {error!r}")
        timings.append((sent, time.monotonic()))
        with lock:
            done["requests"] += 1

    started = time.monotonic()
    steps: list[tuple[str, float, float, str]] = []  # command, began, ended, live generation
    with ThreadPoolExecutor(LOAD_CLIENTS) as pool:
        futures = [pool.submit(one, n) for n in range(LOAD_REQUESTS)]
        # A reindex, new articles into the live generation, another reindex: all while serving.
        for k, args in enumerate((("reindex",), ("ingest", str(more)), ("reindex",)), 1):
            wait_until(lambda k=k: done["requests"] >= block * (k - 1) + 100, COMMAND_TIMEOUT)
            began = time.monotonic()
            result = run_search(*args, "--index-dir", str(data_dir))
            assert result.returncode == 0, result.stderr
            steps.append((args[0], began, time.monotonic(), live_generation(data_dir).name))
            released[k].set()
        for future in futures:
            future.result()
    elapsed = time.monotonic() - started
    during = [
        sum(1 for sent, answered in timings if answered > began and sent < ended)
        for _, began, ended, _ in steps
    ]

    (_, _, _, second), (_, ingest_began, ingested, _), (_, _, switched, third) = steps
    seen = Counter(generation for _, _, generation, _ in answers)
    after = [generation for sent, _, generation, _ in answers if sent > switched]
    print(
        f"\nload: {done['requests']} requests from {LOAD_CLIENTS} clients in {elapsed:.1f} s, "
        f"{len(failures)} failed; reindex {first} -> {second}, ingest of {added}, "
        f"reindex -> {third}; answers per generation {dict(seen)}; "
        f"{len(after)} sent after the last switch; requests overlapping each step {during}"
    )
    assert done["requests"] == LOAD_REQUESTS
    assert failures == []
    assert all(during), "a step ran without load"
    assert first < second < third and set(seen) == {first, second, third}
    assert len(after) >= 20, "the load ended before the last reindex: raise LOAD_REQUESTS"
    assert set(after) == {third}  # every worker switched, none restarted
    # The ingested articles appear once written, and never go away again.
    assert {total for _, answered, _, total in answers if answered < ingest_began} == {count}
    assert {total for sent, _, _, total in answers if sent > ingested} == {count + added}

    # /metrics adds up both workers: every search request is counted.
    status, body = get(server.url + "/metrics")
    counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in body.decode().splitlines()
        if line.startswith("search_http_requests_total{") and 'endpoint="api_search"' in line
    )
    assert status == 200 and counted == 3 * LOAD_REQUESTS / len(paths)


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory) -> Path:
    """A data folder of CORPUS articles, copied by each test that harms it."""
    folder = tmp_path_factory.mktemp("corpus")
    ingest(folder / "index", write_feed(folder / "a.jsonl", make_articles(CORPUS)))
    return folder / "index"


def kill_when(
    command: list[str], condition: Callable[[], object], delay: float = 0.0
) -> tuple[int, bool]:
    """Start ``command``, SIGKILL it ``delay`` s after ``condition()`` holds; return its code and
    whether the condition was seen before it exited by itself."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = False
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if condition():
            seen = True
            time.sleep(delay)
            break
        time.sleep(0.003)
    process.send_signal(signal.SIGKILL)
    return process.wait(timeout=COMMAND_TIMEOUT), seen


def test_reindex_killed_at_varied_points_never_harms_the_live_generation(
    tmp_path, serve, corpus_dir, monkeypatch
):
    data_dir = tmp_path / "index"
    shutil.copytree(corpus_dir, data_dir)
    server = serve(data_dir)
    snapshot = store_snapshot(data_dir)
    assert snapshot[0] == "ok"
    reindex = search_command("reindex", "--index-dir", str(data_dir))

    def building() -> Path | None:
        live = live_generation(data_dir)
        newer = [g for g in list_generations(data_dir) if g.name > live.name]
        return newer[0].path if newer else None

    def committed() -> bool:
        path = building()
        return bool(path and any(p.suffix == ".toc" for p in path.iterdir()))

    # One timed run: from the new generation's folder appearing to the switch.
    first = live_generation(data_dir)
    process = subprocess.Popen(reindex, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: building() is not None or live_generation(data_dir) != first)
    appeared = time.monotonic()
    wait_until(lambda: live_generation(data_dir) != first, COMMAND_TIMEOUT)
    build = time.monotonic() - appeared
    assert process.wait(timeout=COMMAND_TIMEOUT) == 0
    # Kill points: during start-up, as the new generation appears, at six points while it is
    # built, once its index is committed but not yet live, and right after the switch.
    points = [("0.3 s after start", lambda: True, 0.3), ("as building starts", building, 0.0)]
    points += [(f"{k}/7 into building", building, build * k / 7) for k in range(1, 7)]
    points += [("once committed", committed, 0.0)]
    points += [("right after the switch", None, 0.0)]
    assert len(points) >= KILL_TRIALS
    # The next reindex may wait only briefly: a stale lock would make it fail.
    monkeypatch.setenv("SEARCH_LOCK_TIMEOUT", "5")
    outcomes: list[str] = []
    for point, condition, delay in points:
        before = live_generation(data_dir)
        if condition is None:

            def condition(before=before):
                return live_generation(data_dir) != before

        code, seen = kill_when(reindex, condition, delay)
        live = live_generation(data_dir)
        debris = [g for g in list_generations(data_dir) if g.name > live.name]
        if code == 0:
            outcome = "finished first"
        elif live != before:
            outcome = "killed after the switch"
        elif debris:
            outcome = "killed while building"
        else:
            outcome = "killed before building"
        outcomes.append(f"{point}: {outcome}")
        # The live generation is a complete one, and the server answers from it.
        assert live == before or code in (0, -signal.SIGKILL)
        assert indexed_total(data_dir) == CORPUS, (point, outcome)
        answer = server.search()
        assert answer["total"] == CORPUS and answer["generation"] == live.name, (point, outcome)
        assert store_snapshot(data_dir) == snapshot, (point, outcome)
        # No stale lock: the next reindex starts at once, succeeds and clears the debris.
        result = run_cli("reindex", data_dir=data_dir)
        assert result.exit_code == 0, result.output
        after = live_generation(data_dir)
        assert after.name > live.name
        assert all(g.name <= after.name for g in list_generations(data_dir))
        assert server.search()["generation"] == after.name
    print(f"\nkill reindex: {len(points)} trials (building takes {build:.1f} s):")
    print("\n".join("  " + line for line in outcomes))
    # Timing on a shared machine varies: a run may now and then finish before its kill.
    assert sum("killed" in line for line in outcomes) >= KILL_TRIALS - 2
    assert store_snapshot(data_dir) == snapshot


def test_ingest_killed_at_varied_points_keeps_whole_batches_and_completes(tmp_path, monkeypatch):
    from search.pipeline import BATCH_SIZE

    articles = make_articles(3 * BATCH_SIZE, words=30, seed=2)
    feed = write_feed(tmp_path / "feed.jsonl", articles)
    expected = {a["id"]: Article.from_dict(a).to_dict() for a in articles}
    order = [a["id"] for a in articles]
    monkeypatch.setenv("SEARCH_LOCK_TIMEOUT", "5")

    def stored(data_dir: Path) -> int:
        try:
            with closing(sqlite3.connect(f"file:{data_dir / STORE_FILE}?mode=ro", uri=True)) as db:
                return db.execute("SELECT count(*) FROM articles").fetchone()[0]
        except sqlite3.Error:  # not created yet, or its table not yet
            return 0

    # Kill points: during start-up, as the store appears, after each batch, and while the
    # stored articles are being indexed.
    points = [
        ("0.3 s after start", lambda d: True, 0.3),
        ("as the store appears", lambda d: (d / STORE_FILE).exists(), 0.0),
        *[
            (f"after batch {n}", lambda d, n=n: stored(d) >= n * BATCH_SIZE, 0.0)
            for n in range(1, 4)
        ],
        ("while indexing", lambda d: stored(d) == len(articles), 1.0),
    ]
    report = []
    for trial, (point, condition, delay) in enumerate(points):
        data_dir = tmp_path / f"index-{trial}"
        command = search_command("ingest", str(feed), "--index-dir", str(data_dir))
        code, _ = kill_when(command, lambda c=condition, d=data_dir: c(d), delay)
        count = 0
        if (data_dir / STORE_FILE).exists():
            with closing(sqlite3.connect(data_dir / STORE_FILE)) as db:
                assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
                # Killed as the file was created, before its table: an empty store.
                tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                has_table = ("articles",) in tables.fetchall()
                rows = db.execute("SELECT id, data FROM articles").fetchall() if has_table else []
            count = len(rows)
            # Whole batches, in input order, each article exactly as cleaned.
            assert count % BATCH_SIZE == 0, (point, count)
            assert {i for i, _ in rows} == set(order[:count])
            for article_id, data in rows:
                article = json.loads(data)
                article.pop("fetched")
                # (the story is the store's own column, set when the article is clustered)
                cleaned = expected[article_id].items()
                assert article == {k: v for k, v in cleaned if k not in ("fetched", "story")}
        report.append(f"{point}: exit {code}, {count} stored")
        # Rerunning completes it: every article once, in the store and in the index.
        result = run_cli("ingest", str(feed), data_dir=data_dir)
        assert result.exit_code == 0, result.output
        assert f"unchanged {count}," in result.output, result.output
        integrity, total, _ = store_snapshot(data_dir)
        assert integrity == "ok" and total == len(articles)
        assert Searcher(data_dir).health()["documents"] == len(articles)
        assert indexed_total(data_dir) == len(articles)
    print(f"\nkill ingest: {len(points)} trials of {len(articles)} articles:")
    print("\n".join("  " + line for line in report))


def wait_until(condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_rival_writers_wait_a_bounded_time_or_fail_clearly(tmp_path, corpus_dir):
    data_dir = tmp_path / "index"
    shutil.copytree(corpus_dir, data_dir)
    extra = [
        write_feed(
            tmp_path / f"extra{n}.jsonl",
            [
                {"id": f"extra-{n}-{i}", "title": "Harbour extra", "body": "More."}
                for i in range(20)
            ],
        )
        for n in range(2)
    ]
    # A writer holds the lock (here the test itself, so that it is held for as long as the test
    # needs, however fast a reindex is); a reindex queues behind it.
    with hold_write_lock(data_dir, 0):
        reindex = subprocess.Popen(
            search_command("reindex", "--index-dir", str(data_dir)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # A writer that may wait half a second: a clear refusal, quickly.
        started = time.monotonic()
        refused = run_search(
            "ingest",
            str(extra[0]),
            "--index-dir",
            str(data_dir),
            env={"SEARCH_LOCK_TIMEOUT": "0.5"},
        )
        assert refused.returncode == 1
        assert "another ingest or reindex is writing" in refused.stderr
        refused_after = time.monotonic() - started
        assert "waited 0.5 s" in refused.stderr
        assert reindex.poll() is None  # still waiting for the lock
    # The reindex goes ahead; two more writers that may wait long enough run one after the
    # other once it is done.
    patient = [
        subprocess.Popen(
            search_command("ingest", str(path), "--index-dir", str(data_dir)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "SEARCH_LOCK_TIMEOUT": "120"},
        )
        for path in extra
    ]
    assert reindex.wait(timeout=COMMAND_TIMEOUT) == 0, reindex.stderr.read()
    for process in patient:
        assert process.wait(timeout=COMMAND_TIMEOUT) == 0, process.stderr.read()
        assert "added 20" in process.stdout.read()
    integrity, count, _ = store_snapshot(data_dir)
    assert integrity == "ok" and count == CORPUS + 40
    assert Searcher(data_dir).health()["documents"] == CORPUS + 40
    assert indexed_total(data_dir) == CORPUS + 40
    print(
        f"\nrival writers: refused after {refused_after:.1f} s ({refused.stderr.strip()!r}); "
        "the reindex waited for the lock, 2 patient ingests waited for it and succeeded"
    )
    for process in [reindex, *patient]:
        process.stdout.close(), process.stderr.close()


FILE_SIZE_LIMIT_KB = 100
# Ignore SIGXFSZ so that writing past the limit fails with EFBIG instead of killing the command.
FILE_SIZE_LIMIT = ["bash", "-c", f"trap '' XFSZ; ulimit -f {FILE_SIZE_LIMIT_KB}; exec \"$@\"", "-"]


def unwritable(path: Path) -> list[str]:
    """Make ``path`` read-only for the command; returns the prefix the command runs under."""
    path.chmod(0o555)
    if os.geteuid() != 0:
        return []
    # Root ignores permission bits; without these capabilities it obeys them like anyone else.
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot make a folder unwritable")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of its own (root with CAP_SYS_ADMIN only): a real "No space left on device"."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()

    def mount(*options: str) -> bool:
        command = ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(mountpoint)]
        return subprocess.run(command, capture_output=True).returncode == 0

    if os.geteuid() != 0 or not mount("size=64m"):
        pytest.skip("mounting a small tmpfs needs root with CAP_SYS_ADMIN")

    def resize(free_bytes: int | None) -> None:
        """Leave ``free_bytes`` free on the disk (None: plenty)."""
        size = 64 << 20 if free_bytes is None else shutil.disk_usage(mountpoint).used + free_bytes
        assert mount("remount", f"size={size}"), "tmpfs remount failed"

    yield mountpoint, resize
    subprocess.run(["umount", "-l", str(mountpoint)], check=True)


@pytest.mark.parametrize(
    "fault", ["file-size-limit", "full-disk", "unwritable-index", "unwritable-folder"]
)
@pytest.mark.parametrize("command", ["reindex", "ingest"])
def test_disk_and_permission_faults_give_a_clear_error_and_keep_serving(
    tmp_path, fault, command, request
):
    data_dir = tmp_path / "index"
    if fault == "full-disk":
        mountpoint, resize = request.getfixturevalue("small_disk")
        data_dir = mountpoint / "index"
    ingest(data_dir, DEMO)
    live = live_generation(data_dir)
    energy = indexed_total(data_dir, "energy")
    snapshot = store_snapshot(data_dir)
    feed = write_feed(tmp_path / "more.jsonl", make_articles(400, seed=3))
    args = ("reindex",) if command == "reindex" else ("ingest", str(feed))
    prefix: list[str] = []
    if fault == "file-size-limit":
        prefix = FILE_SIZE_LIMIT
    elif fault == "full-disk":
        resize(64 << 10)  # too little for a new generation or for 400 more articles
    elif fault == "unwritable-index":
        # Neither a new generation (reindex) nor the live one (ingest) can be written.
        live.path.chmod(0o555)
        prefix = unwritable(generations_dir(data_dir))
    else:
        prefix = unwritable(data_dir)
    try:
        result = run_search(*args, "--index-dir", str(data_dir), prefix=prefix)
    finally:
        for path in (live.path, generations_dir(data_dir), data_dir):
            path.chmod(0o755)
    print(f"\n{fault} {command}: {result.stderr.strip().splitlines()[-1]}")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"cannot write to {data_dir}" in result.stderr
    assert f"generation {live.name} keeps serving as before" in result.stderr
    assert live_generation(data_dir) == live
    assert [g.name for g in list_generations(data_dir)] == [live.name]
    assert indexed_total(data_dir, "energy") == energy
    assert Searcher(data_dir).health()["documents"] == 36
    integrity, count, _ = store_snapshot(data_dir)
    assert integrity == "ok"
    if command == "reindex":
        assert store_snapshot(data_dir) == snapshot
    else:
        assert count in range(36, 437)
    # With the fault gone, the same command succeeds.
    if fault == "full-disk":
        resize(None)
    assert run_search(*args, "--index-dir", str(data_dir)).returncode == 0
    expected = 36 if command == "reindex" else 436
    assert Searcher(data_dir).health()["documents"] == expected
