"""The crawler against a fixture news site on 127.0.0.1: politeness, discovery, faults, resume."""

from __future__ import annotations

import gzip
import shutil
import signal
import subprocess
import sys
import time

import pytest

from bench.crawl_site import Handler, Site, article_html, links_page
from search import pipeline
from search.article import NoText
from search.clean import body
from search.clean.html import clean_html
from search.crawl.crawl import Crawler, CrawlOptions, Kind
from search.crawl.discover import gunzip, links_in_page, urls_in_sitemap
from search.crawl.fetch import (
    FetchPolicy,
    _blocked,
    _GuardedHTTPConnection,
    _GuardedHTTPSConnection,
    retry_after,
)
from search.crawl.robots import RobotsRules
from search.crawl.urls import BadURL, Scope, canonical_url
from search.engine.searcher import Searcher
from search.progress import PAGES, Step
from search.request import SearchRequest
from search.store import CorpusStore, State
from tests.conftest import ROOT, run_cli

# Small limits keep the faults quick: 0.5 s timeouts, one retry, 200 kB pages.
FAST = ["--allow-private", "--delay", "0", "--timeout", "0.5", "--retries", "1",
        "--backoff", "0.1", "--max-bytes", "200000"]  # fmt: skip
CRAWL_DELAY = 0.05
ARTICLES = {
    "/news/a1": ("Harbour cranes return", "harbour cranes"),
    "/news/a2": ("Rail strike ends", "rail strike"),
    "/news/a3": ("Wheat prices climb", "wheat prices"),
    "/news/a4": ("Orchestra tours north", "orchestra tour"),
    "/news/a5": ("Glacier survey published", "glacier survey"),
    "/news/a6": ("Bridge repairs delayed", "bridge repairs"),
    "/news/a7": ("Ferry line reopens", "ferry line"),
    "/news/a8": ("Market opens late", "market opening"),
    "/news/a10": ("Library extends hours", "library hours"),
    "/private/open-letter": ("An open letter", "open letter"),
}
CP1252_TITLE = "Café owners “cautious” about rents"
# A page laid out in a table, as older news sites are: the article is in a cell among links, in
# <font> and <br>, where trafilatura's main pass (and its readability and jusText comparison)
# find nothing; only its recall mode reads it.
OLD_LAYOUT = "/news/old-layout"
OLD_LAYOUT_TITLE = "Port reopens north quay"
OLD_LAYOUT_SENTENCES = [
    "The harbour board voted on Monday to reopen the north quay to container ships by the spring,"
    " after months of talks with the dock unions.",
    "Dredging the channel will cost 14 million crowns, the board said, and the work will start in"
    " January if the weather allows it.",
    "The mayor, Ingrid Solheim, said the quay had been closed for three years and that the city"
    " had lost cargo to rival ports.",
    "Shipping lines welcomed the decision but said they would wait for the first soundings before"
    " they change their schedules.",
    "The unions said the agreement kept every job at the port and added forty seasonal posts for"
    " the busy summer months.",
]


def old_layout_html() -> str:
    """The table-layout page: a row of links, a column of links, the article in a cell."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{OLD_LAYOUT_TITLE} | Fixture News</title>"
        "<meta property='og:site_name' content='Fixture News'></head><body>"
        "<table width='100%'><tr><td colspan='2'><a href='/'>Home</a> | "
        "<a href='/world/'>World</a></td></tr><tr><td width='160' valign='top'>"
        "<a href='/news/a1'>Harbour</a><br><a href='/news/a2'>Rail</a></td>"
        f"<td valign='top'><h1>{OLD_LAYOUT_TITLE}</h1><font face='Verdana' size='2'>"
        + "<br><br>".join(OLD_LAYOUT_SENTENCES)
        + "</font></td></tr></table></body></html>"
    )


def _busy_then_fine(body: bytes):
    calls = []

    def route(handler: Handler) -> None:
        calls.append(1)
        if len(calls) == 1:
            handler.reply(429, b"slow down", "text/plain", {"Retry-After": "1"}, etag=False)
        else:
            handler.reply(200, body)

    return route


def _last_modified(body: bytes):
    """A page validated by its date alone (no ETag)."""
    stamp = "Sun, 01 Mar 2026 10:00:00 GMT"

    def route(handler: Handler) -> None:
        if handler.headers.get("If-Modified-Since") == stamp:
            handler.send_response(304)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            handler.reply(200, body, headers={"Last-Modified": stamp}, etag=False)

    return route


def _slow(handler: Handler) -> None:
    time.sleep(1.5)
    handler.reply(200, article_html("slow", "Slow page", "slowness").encode())


def _endless(handler: Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(b"<html><body>")
    for _ in range(100_000):  # 6 MB at most: stops when the crawler hangs up
        handler.wfile.write(b"<p>more and more</p>" * 3)


# 60 MB of HTML in 60 kB of gzip: made once, when the site is built.
BOMB: list[bytes] = []


def _bomb(handler: Handler) -> None:
    handler.reply(200, BOMB[0], "text/html", {"Content-Encoding": "gzip"}, etag=False)


def _redirect(target: str, status: int = 301):
    def route(handler: Handler) -> None:
        handler.reply(status, b"", "text/plain", {"Location": target}, etag=False)

    return route


def news_site() -> Site:
    """The fixture site: every page and every fault the issue lists."""
    if not BOMB:
        BOMB.append(gzip.compress(b"<p>" + b" " * 60_000_000, 9))
    site = Site().start()
    base = site.base
    for path, (title, words) in ARTICLES.items():
        if path not in ("/news/a8",):
            site.page(path, article_html(path, title, words))
    a7 = article_html("/news/a7", *ARTICLES["/news/a7"])
    canonical = f"<link rel='canonical' href='{base}/news/a7'>"
    site.page("/news/a7", a7.replace("<title>", canonical + "<title>"))
    site.page("/news/a7-amp", a7.replace("<title>", canonical + "<title>"))
    site.routes["/news/a4"] = _last_modified(
        article_html("/news/a4", *ARTICLES["/news/a4"]).encode()
    )
    site.routes["/news/a8"] = _busy_then_fine(article_html("a8", *ARTICLES["/news/a8"]).encode())
    # The same text as a5, under a URL of its own and no canonical link.
    site.page("/copy/a5", article_html("/news/a5", *ARTICLES["/news/a5"]))
    site.page(
        "/news/a9",
        article_html("a9", CP1252_TITLE, "café rents and “cautious” owners").encode("cp1252"),
        "text/html; charset=windows-1252",
    )
    site.page(OLD_LAYOUT, old_layout_html())
    site.page("/photo-of-the-day", (
        "<!doctype html><html><head><title>Photo of the day | Fixture News</title></head><body>"
        "<h1>Photo of the day</h1><figure><img src='/img/quay.jpg' alt=''>"
        "<figcaption>The north quay</figcaption></figure></body></html>"
    ))  # fmt: skip
    broken = article_html("/news/a10", *ARTICLES["/news/a10"])
    site.page("/news/a10", broken.replace("</p>", "").replace("</article>", "</div></span>"))
    site.page("/private/secret", article_html("secret", "Secret", "secrets"))
    site.page("/robots.txt", (
        "User-agent: *\nDisallow: /private/\nAllow: /private/open-letter\nDisallow: /*?print=\n"
        f"Crawl-delay: {CRAWL_DELAY}\n\nUser-agent: OtherBot\nDisallow: /\n\n"
        f"Sitemap: {base}/sitemap_index.xml\n"
    ), "text/plain")  # fmt: skip
    site.page("/sitemap_index.xml", (
        "<?xml version='1.0' encoding='UTF-8'?><sitemapindex"
        " xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
        f"<sitemap><loc>{base}/sitemaps/news.xml.gz</loc></sitemap></sitemapindex>"
    ), "application/xml")  # fmt: skip
    news_sitemap = (
        "<?xml version='1.0' encoding='UTF-8'?><urlset"
        " xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'"
        " xmlns:news='http://www.google.com/schemas/sitemap-news/0.9'>"
        + "".join(
            f"<url><loc>{base}{p}</loc><news:news><news:publication>"
            "<news:name>Fixture News</news:name><news:language>en</news:language>"
            f"</news:publication><news:title>{ARTICLES[p][0]}</news:title></news:news></url>"
            for p in ("/news/a1", "/news/a2")
        )
        + "</urlset>"
    )
    site.page("/sitemaps/news.xml.gz", gzip.compress(news_sitemap.encode()), "application/gzip")
    site.page("/feed.rss", (
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Fixture News</title>"
        f"<link>{base}/</link><description>All the news</description>"
        f"<item><title>Wheat</title><link>{base}/news/a3</link></item>"
        f"<item><title>Orchestra</title><link>{base}/news/a4?utm_source=rss</link></item>"
        "</channel></rss>"
    ), "application/rss+xml")  # fmt: skip
    feed_link = "<link rel='alternate' type='application/rss+xml' href='/feed.rss'>"
    site.routes["/"] = lambda h: h.reply(
        200,
        links_page("Fixture News", ["/world/", "/business/"], feed_link).encode(),
        headers={"Set-Cookie": "session=abc; Path=/"},
    )
    site.page("/world/", links_page("World", [
        "/news/a5", "/news/a6", "/news/a1?utm_source=x&utm_medium=y#comments",
        "/news/a7-amp", "/private/secret", "/private/open-letter", "/news/a1?print=1",
        "/old/a2", "/loop/a", "/missing", "/broken-server", "/slow", "/huge", "/endless",
        "/bomb", "/report.pdf", "/news/a9", "/news/a10", OLD_LAYOUT, "/copy/a5",
        "/photo-of-the-day", "mailto:desk@example.org",
    ]))  # fmt: skip
    site.page("/business/", links_page("Business", ["/news/a8", "/news/a1"]))
    site.routes["/old/a2"] = _redirect("/redirect/step")
    site.routes["/redirect/step"] = _redirect(f"{base}/news/a2", 302)
    site.routes["/loop/a"] = _redirect("/loop/b")
    site.routes["/loop/b"] = _redirect("/loop/a", 302)
    site.routes["/broken-server"] = lambda h: h.reply(500, b"oops", "text/plain", etag=False)
    site.routes["/slow"] = _slow
    site.routes["/huge"] = lambda h: h.reply(200, b"<p>" + b"x" * 300_000, etag=False)
    site.routes["/endless"] = _endless
    site.routes["/bomb"] = _bomb
    site.page("/report.pdf", b"%PDF-1.4 not really", "application/pdf")
    return site


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """One crawl of the news site, then a --recrawl of it (the site's log split between them)."""
    site = news_site()
    data_dir = tmp_path_factory.mktemp("crawl") / "index"
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SEARCH_CRAWL_CONTACT", "https://example.org/bot")
            first = run_cli("crawl", site.base + "/", *FAST, data_dir=data_dir)
            first_log = site.hits()
            second = run_cli("crawl", site.base + "/", "--recrawl", *FAST, data_dir=data_dir)
    finally:
        site.stop()
    return site, data_dir, first, first_log, second, site.hits()[len(first_log) :]


def indexed(data_dir) -> int:
    """How many documents the live index generation holds."""
    with Searcher(data_dir) as searcher:
        return searcher.health()["documents"]


def _paths(log) -> list[str]:
    return [h.path for h in log]


def test_crawl_indexes_each_expected_article_once(crawled):
    site, data_dir, first, *_ = crawled
    with CorpusStore(data_dir) as store:
        articles = list(store.articles())
    urls = sorted(a.url.removeprefix(site.base) for a in articles)
    assert urls == sorted([*ARTICLES, "/news/a9", OLD_LAYOUT])
    assert indexed(data_dir) == len(ARTICLES) + 2
    assert sorted(a.title for a in articles) == sorted(
        [t for t, _ in ARTICLES.values()] + [CP1252_TITLE, OLD_LAYOUT_TITLE]
    )


def test_a_page_only_a_fallback_reads_is_stored_and_says_so(crawled):
    site, data_dir, *_ = crawled
    with CorpusStore(data_dir) as store:
        (article,) = [a for a in store.articles() if a.url.endswith(OLD_LAYOUT)]
        by_main = [a for a in store.articles() if a.url.endswith("/news/a1")]
    assert article.title == OLD_LAYOUT_TITLE
    assert article.body.split("\n\n") == OLD_LAYOUT_SENTENCES
    assert article.extra["extractor"] == body.RECALL
    assert by_main[0].extra["extractor"] == body.MAIN
    with Searcher(data_dir) as searcher:
        assert [h.url for h in searcher.search(SearchRequest(q="dredging")).results] == [
            site.base + OLD_LAYOUT
        ]


def test_without_the_recall_fallback_the_old_layout_page_is_lost(monkeypatch):
    monkeypatch.delitem(body._OPTIONS, body.RECALL)
    with pytest.raises(NoText, match="every extractor found too little"):
        clean_html(old_layout_html(), "http://127.0.0.1/news/old-layout")


def test_windows_1252_page_reads_right(crawled):
    _, data_dir, *_ = crawled
    with CorpusStore(data_dir) as store:
        (article,) = [a for a in store.articles() if a.url.endswith("/news/a9")]
    assert article.title == CP1252_TITLE and "café rents and “cautious” owners" in article.body


def test_every_fault_is_reported_and_the_exit_code_says_so(crawled):
    _, _, first, *_ = crawled
    assert first.exit_code == 1
    out = first.output
    for path, reason in [
        ("/loop/a", "redirect loop"),
        ("/missing", "HTTP 404"),
        ("/broken-server", "HTTP 500 after 2 attempts"),
        ("/slow", "timeout"),
        ("/huge", "too large"),
        ("/endless", "too large"),
        ("/bomb", "too large"),
        ("/report.pdf", "not a page we read (application/pdf)"),
        ("/private/secret", "disallowed by robots.txt"),
        ("/news/a1?print=1", "disallowed by robots.txt"),
        ("/copy/a5", "same text as"),
        ("/photo-of-the-day", "no article text: every extractor found too little (trafilatura 0"),
    ]:
        line = next((x for x in out.splitlines() if f"/{path.lstrip('/')}:" in x), "")
        assert reason in line, f"{path}: {reason!r} not reported in:\n{out}"
    assert "failed 7," in out and "skipped 5," in out


def test_robots_rules_and_crawl_delay_hold_in_the_server_log(crawled):
    _, _, _, first_log, *_ = crawled
    paths = _paths(first_log)
    assert paths[0] == "/robots.txt"
    assert "/private/secret" not in paths and not any("print=" in p for p in paths)
    assert "/private/open-letter" in paths  # Allow beats the shorter Disallow
    arrivals = sorted(h.at for h in first_log)
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # One request at a time, and Crawl-delay between them (retries wait at least as long).
    assert min(gaps) >= CRAWL_DELAY
    agents = {h.headers.get("User-Agent") for h in first_log}
    assert agents == {"NewsSearchBot/0.1.0 (news search crawler; +https://example.org/bot)"}
    assert not any("Cookie" in h.headers or "Authorization" in h.headers for h in first_log)


def test_http_faults_are_retried_as_they_should_be(crawled):
    _, _, _, first_log, *_ = crawled
    paths = _paths(first_log)
    assert paths.count("/missing") == 1  # 404: recorded, not retried
    assert paths.count("/broken-server") == 2  # 5xx: one retry (--retries 1)
    busy = [h for h in first_log if h.path == "/news/a8"]
    assert [h.status for h in busy] == [429, 200]
    assert busy[1].at - busy[0].at >= 1.0  # Retry-After: 1
    assert paths.count("/loop/a") == 1 and paths.count("/loop/b") == 1
    assert paths.count("/news/a1") == 1  # tracking parameters and fragment dropped
    assert "/news/a7-amp" in paths and paths.count("/news/a7") == 0  # canonical link honoured
    # Discovery: the gzipped sitemap behind the index, and the feed linked from the home page.
    assert {"/sitemap_index.xml", "/sitemaps/news.xml.gz", "/feed.rss"} <= set(paths)
    assert paths.count("/news/a4") == 1


def test_recrawl_gets_304s_for_unchanged_pages(crawled):
    _, data_dir, _, _, second, second_log = crawled
    articles = [h for h in second_log if h.path in ARTICLES]
    assert articles and all(h.status == 304 for h in articles)
    by_date = [h for h in articles if h.path == "/news/a4"]
    assert by_date and all(
        "If-Modified-Since" in h.headers and "If-None-Match" not in h.headers for h in by_date
    )
    assert all(h.headers.get("If-None-Match") for h in articles if h.path != "/news/a4")
    assert "indexed 0 articles" in second.output
    with CorpusStore(data_dir) as store:
        assert store.count() == len(ARTICLES) + 2


def test_reclean_rebuilds_from_stored_pages_without_the_network(crawled, tmp_path):
    _, data_dir, *_ = crawled
    # The site is stopped: a reclean that touched the network would fail.
    result = run_cli("reindex", "--reclean", data_dir=data_dir)
    assert result.exit_code == 0, result.output
    assert "0 articles added" in result.output and "0 failed" in result.output
    assert indexed(data_dir) == len(ARTICLES) + 2
    # Progress counts the pages cleaned again, then the articles indexed.
    steps: list[Step] = []
    pipeline.reindex(data_dir, reclean=True, progress=steps.append)
    with CorpusStore(data_dir) as store:
        pages, articles = store.count_pages(), store.count()
    recleaning = [s for s in steps if s.phase == "re-cleaning"]
    assert [s.articles for s in recleaning] == list(range(pages + 1))
    assert recleaning[-1].unit == PAGES and recleaning[-1].total == pages
    assert steps[-1].phase == "indexing" and steps[-1].done == steps[-1].total == articles


def test_reclean_gives_stored_pages_the_current_headline_body_and_extractor(crawled, tmp_path):
    site, data_dir, *_ = crawled
    copy = tmp_path / "index"
    shutil.copytree(data_dir, copy)
    # What an older cleaner stored: the site's name in the headline, a partial body and no
    # extractor named.
    with CorpusStore(copy) as store:
        (old,) = [a for a in store.articles() if a.url.endswith(OLD_LAYOUT)]
        old.title = f"{OLD_LAYOUT_TITLE} | Fixture News"
        old.body = OLD_LAYOUT_SENTENCES[0]
        old.extra.pop("extractor")
        store.upsert([old])
    result = run_cli("reindex", "--reclean", data_dir=copy)
    assert result.exit_code == 0, result.output
    with CorpusStore(copy) as store:
        new = store.get(old.id)
    assert new.title == OLD_LAYOUT_TITLE
    assert new.body.split("\n\n") == OLD_LAYOUT_SENTENCES
    assert new.extra["extractor"] == body.RECALL
    with Searcher(copy) as searcher:
        hits = searcher.search(SearchRequest(q="soundings")).results
    assert [(h.url, h.title) for h in hits] == [(site.base + OLD_LAYOUT, OLD_LAYOUT_TITLE)]


def test_private_addresses_are_refused_by_default(data_dir):
    site = news_site()
    try:
        result = run_cli("crawl", site.base + "/", "--delay", "0", data_dir=data_dir)
    finally:
        site.stop()
    assert result.exit_code == 1
    assert "loopback, private, link-local or multicast" in result.output
    assert site.hits() == []  # not one request reached the server


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.org/"], "only http and https"),
        (["javascript:alert(1)"], "only http and https"),
        (["--resume"], "nothing to resume"),
    ],
)
def test_bad_start_urls_get_a_clear_error(data_dir, args, message):
    result = run_cli("crawl", *args, data_dir=data_dir)
    assert result.exit_code == 1 and message in result.output


def test_no_start_url_is_a_usage_error(data_dir):
    result = run_cli("crawl", data_dir=data_dir)
    assert result.exit_code == 2 and "at least one URL" in result.output


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "kill"])
def test_interrupted_crawl_resumes_without_refetching_what_it_stored(tmp_path, signum):
    count = 30
    site = Site().start()
    paths = [f"/story/{n}" for n in range(count)]
    for n, path in enumerate(paths):
        site.page(path, article_html(path, f"Story number {n}", f"topic{n} matters{n}"))
    site.page("/", links_page("Home", paths))
    data_dir = tmp_path / "index"
    command = [sys.executable, "-m", "search.cli", "crawl", site.base + "/", "--allow-private",
               "--delay", "0.05", "--index-dir", str(data_dir)]  # fmt: skip
    try:
        child = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 60
        while sum(h.path.startswith("/story/") for h in site.hits()) < 8:
            assert child.poll() is None and time.monotonic() < deadline, "crawl never got going"
            time.sleep(0.05)
        child.send_signal(signum)
        output = child.communicate(timeout=30)[0].decode()
        first = len(site.hits())
        with CorpusStore(data_dir) as store:
            stored = {p.url.removeprefix(site.base) for p in store.pages()}
            kept = store.count()
        assert 8 <= len(stored) < count  # stopped midway
        if signum == signal.SIGINT:
            # A clean stop: exit code 130, and every page fetched is cleaned and indexed.
            assert child.returncode == 130 and "--resume" in output
            assert kept == len(stored) - 1  # all but the home page are articles
            assert indexed(data_dir) == kept
        result = run_cli("crawl", "--resume", "--allow-private", "--delay=0.05", data_dir=data_dir)
    finally:
        site.stop()
    assert result.exit_code == 0, result.output
    again = {h.path for h in site.hits()[first:]} - {"/robots.txt", "/sitemap.xml"}
    assert again and not again & stored
    with CorpusStore(data_dir) as store:
        assert sorted(a.title for a in store.articles()) == sorted(
            f"Story number {n}" for n in range(count)
        )
    assert indexed(data_dir) == count


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://WWW.Example.COM:80/a/b?b=2&a=1#top", "http://www.example.com/a/b?a=1&b=2"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("https://user:secret@example.com/x", "https://example.com/x"),
        ("https://example.com/x?utm_source=a&utm_campaign=b&id=7", "https://example.com/x?id=7"),
        ("https://example.com/x?fbclid=abc&gclid=def", "https://example.com/x"),
    ],
)
def test_canonical_urls(url, canonical):
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "mailto:a@b.c", "http:///nohost", "file:///etc/passwd"]
)
def test_only_http_urls_with_a_host_are_crawled(url):
    with pytest.raises(BadURL):
        canonical_url(url)


def test_scope_is_the_start_sites_and_their_subdomains():
    scope = Scope(["https://www.example.com/news/", "partner.org"])
    assert "http://example.com/a" in scope and "https://live.example.com/b" in scope
    assert "https://partner.org/c" in scope and "https://www.partner.org/c" in scope
    assert "https://example.org/" not in scope and "https://notexample.com/" not in scope


def test_robots_wildcards_precedence_and_delay():
    rules = RobotsRules.from_text(
        "User-agent: *\nDisallow: /a/\nAllow: /a/open\nDisallow: /*.pdf$\nCrawl-delay: 3\n"
        "User-agent: NewsSearchBot\nDisallow: /b/\nCrawl-delay: 2\n"
    )
    assert not rules.allows("http://x/b/1", "NewsSearchBot") and rules.allows(
        "http://x/a/1", "NewsSearchBot"
    )
    assert not rules.allows("http://x/a/1", "Other") and rules.allows("http://x/a/open", "Other")
    assert not rules.allows("http://x/r.pdf", "Other") and rules.allows("http://x/r.pdfx", "Other")
    assert rules.delay("NewsSearchBot") == 2 and rules.delay("Other") == 3


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0), ("soon", None), (None, None)],
)
def test_retry_after(header, seconds):
    from datetime import UTC, datetime

    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert retry_after(header, now) == seconds


def test_gzipped_sitemaps_never_expand_past_the_limit():
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000)
    with pytest.raises(ValueError, match="too large"):
        gunzip(bomb, 100_000)
    with pytest.raises(ValueError, match="not a sitemap"):
        urls_in_sitemap(b"<html><body>hi</body></html>", "http://x/", 100_000)


def test_a_feed_can_be_the_start_url_of_a_site_without_robots_or_sitemap(data_dir):
    site = Site().start()
    base = site.base
    site.page("/", links_page("Home", []))
    for n in range(3):
        site.page(f"/n/{n}", article_html(f"/n/{n}", f"Feed story {n}", f"river{n} council{n}"))
    site.page("/atom.xml", (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
        "<title>Fixture</title><id>urn:x</id><updated>2026-03-01T00:00:00Z</updated>"
        + "".join(
            f"<entry><title>S{n}</title><id>urn:{n}</id><updated>2026-03-01T00:00:00Z</updated>"
            f"<link href='{base}/n/{n}'/></entry>"
            for n in range(3)
        )
        + "</feed>"
    ), "application/atom+xml")  # fmt: skip
    try:
        result = run_cli("crawl", base + "/atom.xml", *FAST, data_dir=data_dir)
    finally:
        site.stop()
    assert result.exit_code == 0, result.output
    assert "indexed 3 articles" in result.output
    # No robots.txt (404): everything allowed; no sitemap.xml: not a fault.
    assert _paths(site.hits())[:2] == ["/robots.txt", "/atom.xml"]
    assert "/sitemap.xml" in _paths(site.hits())


@pytest.mark.parametrize(
    ("address", "blocked"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("224.0.0.1", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_address_guard(address, blocked):
    assert _blocked(address) is blocked


def test_https_connections_are_guarded_too():
    assert _GuardedHTTPSConnection._new_conn is _GuardedHTTPConnection._new_conn


def test_the_frontier_keeps_to_scope_and_depth_and_holds_each_url_once(data_dir):
    options = CrawlOptions(["https://www.example.org/"], ["partner.net"], max_depth=1)
    with CorpusStore(data_dir) as store:
        crawler = Crawler(store, FetchPolicy("TestBot/1"), options, publish=lambda a: {})
        crawler._seed()
        crawler._enqueue("https://www.example.org/deep", Kind.PAGE, 2)  # beyond --max-depth
        crawler._enqueue("https://elsewhere.com/a", Kind.PAGE, 1)  # out of scope
        crawler._enqueue("https://news.partner.net/a", Kind.PAGE, 1)  # --allow-domain
        crawler._enqueue("https://example.org/b", Kind.PAGE, 1)
        crawler._enqueue("https://example.org/b", Kind.PAGE, 1)
        queued = [url for url, *_ in store.frontier(State.QUEUED)]
    assert queued == [
        "https://www.example.org/",
        "https://news.partner.net/a",
        "https://example.org/b",
    ]


def test_links_in_a_page_resolve_against_base_and_skip_nofollow_and_scripts():
    page = (
        '<?xml version="1.0" encoding="iso-8859-1"?><html><head><base href="http://x.org/s/">'
        '<link rel="canonical" href="/c"><link rel="alternate" type="application/atom+xml"'
        ' href="feed"></head><body><a href="a?utm_source=1#top">a</a><a href="a">again</a>'
        '<a href="javascript:void(0)">js</a><a rel="nofollow" href="/n">n</a></body></html>'
    )
    found = links_in_page(page, "http://x.org/page")
    assert found.pages == ["http://x.org/s/a"]
    assert found.feeds == ["http://x.org/s/feed"] and found.canonical == "http://x.org/c"


def test_sitemaps_without_their_namespace_still_read():
    index = b"<sitemapindex><sitemap><loc> /s1.xml </loc></sitemap></sitemapindex>"
    assert urls_in_sitemap(index, "http://x.org/sitemap.xml", 10_000).sitemaps == [
        "http://x.org/s1.xml"
    ]
    urlset = b"<urlset><url><loc>http://x.org/a</loc></url></urlset>"
    assert urls_in_sitemap(urlset, "http://x.org/s1.xml", 10_000).pages == ["http://x.org/a"]
