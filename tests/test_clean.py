"""The cleaner: plain text, HTML pages, Reuters stories and JSON lines become the right Articles."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from search.article import Article
from search.clean import CleanError, clean_document
from search.clean.html import clean_html
from search.clean.names import people_in_text, split_topic_line
from search.clean.reuters import clean_reuters, person_name
from search.clean.text import clean_text, first_sentence
from search.sources import Document, find_files, read_file
from tests.conftest import DEMO, REUTERS, SEED, need_shared

HTML_DIR = DEMO / "html"


def clean_path(path: Path, url: str | None = None):
    files, missed = find_files([path])
    assert not missed
    return [clean_document(doc, url=url) for doc in read_file(files[0])]


# --- the seed article --------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed():
    need_shared(SEED)
    [article] = clean_path(SEED)
    return article


def test_seed_topics_are_split_by_the_names_in_the_body(seed):
    assert seed.topics == [
        "Hissein Brahim Taha",
        "Organisation of Islamic Cooperation",
        "Wang Yi",
    ]


def test_seed_people_are_the_persons_it_is_about(seed):
    assert seed.people == ["Wang Yi", "Hissein Brahim Taha", "Han Zheng"]


def test_seed_title_is_its_first_sentence_and_body_keeps_everything(seed):
    assert seed.title.startswith("China moved to solidify its influence in the Islamic world")
    assert seed.title.endswith("Organisation of Islamic Cooperation (OIC)")
    assert seed.body.startswith("China moved to solidify")  # the first sentence stays in the body
    assert "TOPICS" not in seed.body
    paragraphs = seed.body.split("\n\n")
    # Two sub-headings stay as paragraphs of their own.
    assert "Strengthening Political Trust and Security Ties" in paragraphs
    assert "Expanding Cooperation Beyond Geopolitics" in paragraphs
    assert len(paragraphs) == 6
    # Whitespace is tidied, words are not rewritten: the repeated clause stays.
    assert "delegation, part of Taha’s official six-day visit" in seed.body
    assert seed.published is None  # nothing in the file says when: not invented


def test_seed_is_stable_across_runs(seed):
    [again] = clean_path(SEED)
    assert again.id == seed.id and again.to_dict() == seed.to_dict()


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "people"),
    [
        ("Finance Minister Ana Lopes said the plan works.", ["Ana Lopes"]),
        ("“We act now,” said Tobias Reinholt, the mayor.", ["Tobias Reinholt"]),
        ("Harbour Commissioner Olav Strand said the barrier held.", ["Olav Strand"]),
        ("The OIC Group said it would meet in Beijing.", []),
        ("Officials in Beijing said talks with Taiwan went well.", []),
        ("The Belt and Road Initiative said nothing.", []),
        ("Dr. Priya Raman, chief economist, said prices rose.", ["Priya Raman"]),
    ],
)
def test_people_in_text(text, people):
    assert people_in_text(text) == people


@pytest.mark.parametrize(
    ("line", "body", "topics"),
    [
        ("Energy, Trade; Wind power", "", ["Energy", "Trade", "Wind power"]),
        (
            "Marta Keller Baltic Grid Authority Offshore wind",
            "Marta Keller of the Baltic Grid Authority backed offshore wind.",
            ["Marta Keller", "Baltic Grid Authority", "Offshore wind"],
        ),
        ("Unknown Thing Marta Keller", "Marta Keller spoke.", ["Unknown Thing", "Marta Keller"]),
    ],
)
def test_split_topic_line(line, body, topics):
    assert split_topic_line(line, body) == topics


# --- plain text ------------------------------------------------------------------------------


def test_plain_text_headline_line_becomes_the_title():
    article = clean_text(
        "Council Backs Flood Levy\n\nThe council voted on Monday.\n\nMore follows.\n\n"
        "TOPICS: Flood levy",
        "file:///x.txt",
        "riverside-gazette",
    )
    assert article.title == "Council Backs Flood Levy"
    assert article.body == "The council voted on Monday.\n\nMore follows."
    assert article.topics == ["Flood levy"]
    assert article.source == "riverside-gazette"


def test_first_sentence_ignores_abbreviations():
    text = "Talks with U.S. officials and Dr. Smith ended. Then more happened."
    assert first_sentence(text) == "Talks with U.S. officials and Dr. Smith ended."


@pytest.mark.parametrize("text", ["", "   \n\n  ", "TOPICS: Nothing else"])
def test_plain_text_without_text_is_a_reasoned_skip(tmp_path, text):
    path = tmp_path / "empty.txt"
    path.write_text(text)
    with pytest.raises(CleanError) as error:
        clean_path(path)
    assert not error.value.failed


# --- HTML ----------------------------------------------------------------------------------


def test_html_page_metadata_and_main_text():
    [article] = clean_path(
        HTML_DIR / "meridianbusiness" / "halvorsen-logistics-shares-jump-us-rail-contract.html"
    )
    assert article.title == "Halvorsen Logistics Shares Jump After U.S. Rail Contract"
    assert article.url == (
        "https://meridianbusiness.example/2025/09/halvorsen-logistics-shares-jump-us-rail-contract"
    )
    assert article.published == datetime(2025, 9, 3, 13, 20, tzinfo=UTC)
    assert {"Finance markets", "Transport", "Trade"} <= set(article.topics)
    assert article.source == "Meridian Business Daily"
    assert "Priya Raman" in article.people
    # Navigation, related links and footer are not article text.
    assert "Related" not in article.body and "©" not in article.body
    assert article.body.startswith("Shares in Halvorsen Logistics")


def test_site_name_h1_is_not_the_title():
    [article] = clean_path(
        HTML_DIR / "harbourherald" / "storm-surge-barrier-first-winter-test.html"
    )
    assert article.title == "Storm Surge Barrier Passes First Winter Test"
    assert article.people == ["Olav Strand"]


def test_placeholder_date_is_rejected_for_the_real_one():
    [article] = clean_path(HTML_DIR / "valleyscience" / "heat-waves-cut-wheat-yields-study.html")
    assert article.published == datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def test_date_from_time_element_only():
    page = HTML_DIR / "northgatetimes" / "appeals-court-upholds-short-term-rental-ban-old-town.html"
    [article] = clean_path(page)
    assert article.published == datetime(2025, 11, 4, 10, 0, tzinfo=UTC)


def test_cms_codes_are_dropped_from_topics():
    page = HTML_DIR / "meridianbusiness" / "bond-yields-climb-central-bank-longer-pause.html"
    [article] = clean_path(page)
    assert article.topics and not any(
        "abc123" in t or "cms-" in t or ":" in t for t in article.topics
    )


def test_entities_and_accents_are_decoded():
    page = HTML_DIR / "harbourherald" / "festival-des-lumieres-record-crowds-waterfront.html"
    [article] = clean_path(page)
    assert article.title == "Festival des Lumières Draws Record Crowds to the Waterfront"
    assert "Arts & Music" in article.topics
    assert {"José Müller", "Zoë Ndlovu"} <= set(article.people)
    assert "&amp;" not in article.body and "&#8217;" not in article.body


@pytest.mark.parametrize(
    "page",
    [
        "meridianbusiness/orvik-energy-record-profit-offshore-wind.html",
        "harbourherald/fishing-crews-shifting-cod-stocks-warming-waters.html",
        "northgatetimes/tram-extension-delayed-eighteen-months-audit.html",
    ],
)
def test_reader_comments_are_not_article_text(page):
    html = (HTML_DIR / page).read_text()
    comments = html[html.index('id="comments"') :]
    comment_text = comments.split("<p>", 1)[1].split("</p>", 1)[0]
    [article] = clean_path(HTML_DIR / page)
    assert comment_text[:40] not in article.body


def test_canonical_link_wins_over_the_given_url():
    html = (
        '<html><head><link rel="canonical" href="https://news.example/a">'
        "<title>A | News Example</title>"
        "</head><body><article><p>"
        + "Some words of the article. " * 20
        + "</p></article></body></html>"
    )
    article = clean_html(html, "https://news.example/a?utm_source=x")
    assert article.url == "https://news.example/a"
    assert article.title == "A"


def test_page_without_main_text_is_a_skip():
    with pytest.raises(ValueError, match="no article text"):
        clean_html("<html><body><nav>Home</nav></body></html>", "https://x.example/")


def test_windows_1252_page_reads_right(tmp_path):
    body = "Prices \u201crose\u201d at the caf\u00e9. " * 20
    page = tmp_path / "cp1252.html"
    page.write_bytes(
        (
            '<html><head><meta charset="windows-1252"><title>Caf\u00e9 prices</title></head>'
            f"<body><h1>Caf\u00e9 prices</h1><article><p>{body}</p></article></body></html>"
        ).encode("cp1252")
    )
    [article] = clean_path(page)
    assert article.title == "Café prices"
    assert "\u201crose\u201d at the café" in article.body


# --- Reuters ---------------------------------------------------------------------------------

STORY = """<REUTERS TOPICS="YES" NEWID="42">
<DATE>26-FEB-1987 15:01:01.79</DATE>
<TOPICS><D>cocoa</D><D>money-fx</D></TOPICS>
<PLACES><D>usa</D></PLACES>
<PEOPLE><D>james-baker</D></PEOPLE>
<ORGS></ORGS>
<TEXT>&#2;
<TITLE>BAHIA COCOA REVIEW &lt;BCR&gt;</TITLE>
<DATELINE>    SALVADOR, Feb 26 - </DATELINE><BODY>Showers continued throughout the week in
the Bahia cocoa zone.
    The dry period means the temporao will be late.
 Reuter
&#3;</BODY></TEXT>
</REUTERS>"""


def test_reuters_story():
    article = clean_reuters(STORY)
    assert article.id == "reuters-42"
    assert article.title == "BAHIA COCOA REVIEW <BCR>"
    assert article.body == (
        "Showers continued throughout the week in the Bahia cocoa zone.\n\n"
        "The dry period means the temporao will be late."
    )
    assert article.topics == ["cocoa", "money-fx"]
    assert article.people == ["James Baker"]
    assert article.published == datetime(1987, 2, 26, 15, 1, 1, tzinfo=UTC)
    assert article.extra == {"places": ["usa"], "dateline": "SALVADOR, Feb 26"}
    assert article.source == "reuters"


def test_reuters_brief_and_unprocessed_stories():
    brief = clean_reuters(
        '<REUTERS NEWID="7"><DATE>1-MAR-1987 01:02:03.00</DATE><TEXT TYPE="BRIEF">&#2;\n'
        "******<TITLE>SHORT NEWS ITEM\n</TITLE>\n&#3;\n</TEXT></REUTERS>"
    )
    assert (brief.title, brief.body) == ("SHORT NEWS ITEM", "")
    unproc = clean_reuters(
        '<REUTERS NEWID="8"><TEXT TYPE="UNPROC">&#2;\nCORRECTED - BANCA NAZIONALE\n'
        "    The warrants will be issued.\n Reuter\n&#3;</TEXT></REUTERS>"
    )
    assert unproc.title == "CORRECTED - BANCA NAZIONALE"
    assert unproc.body == "The warrants will be issued."


def unprocessed(text: str) -> Article:
    return clean_reuters(
        f'<REUTERS NEWID="9"><TEXT TYPE="UNPROC">&#2;\n{text}&#3;</TEXT></REUTERS>'
    )


@pytest.mark.parametrize(
    ("text", "title", "body"),
    [
        # The wire broke the headline at a hyphen: one headline, no space at the break.
        (
            "VOLCKER REAFFIRMS G\n-6 NEGOTIATING PROCESS\n    WASHINGTON - Volcker urged.\n",
            "VOLCKER REAFFIRMS G-6 NEGOTIATING PROCESS",
            "WASHINGTON - Volcker urged.",
        ),
        # A headline-only story over two lines.
        (
            "CAR SALES UP TO 38,520 UNITS\nFROM YEAR-AGO 34,209\n",
            "CAR SALES UP TO 38,520 UNITS FROM YEAR-AGO 34,209",
            "",
        ),
        # A table's rows line up their columns: not part of the headline.
        (
            "RATES OPG - APRIL 7\nBAHRAIN   0.37693/03 JORDAN    0.33640/00\n",
            "RATES OPG - APRIL 7",
            "BAHRAIN 0.37693/03 JORDAN 0.33640/00",
        ),
        # The body's first line in mixed case is not the headline's.
        (
            "MAIZE HARVEST LOWER\nHarare - The crop is smaller.\n",
            "MAIZE HARVEST LOWER",
            "Harare - The crop is smaller.",
        ),
    ],
)
def test_an_unprocessed_storys_headline_runs_over_its_capitalised_lines(text, title, body):
    article = unprocessed(text)
    assert (article.title, article.body) == (title, body)


def test_a_long_line_after_an_unprocessed_headline_is_read_in_linear_time():
    # Hostile SGML: a 20,000-character line in capitals that ends in lower case took the
    # headline rule quadratic time (tens of seconds); a line's length must not matter.
    started = time.monotonic()
    article = unprocessed("SHORT HEADLINE\n" + "A" * 20_000 + "a\n")
    assert time.monotonic() - started < 1.0
    assert article.title == "SHORT HEADLINE"


@pytest.mark.parametrize(
    "ending",
    [
        "\n Reuter\n&#3;",
        "\n REUTER\n&#3;",
        "\nreuter\n&#3;",
        " REUTER...^M\n&#3;",
        "\n REUTER\n Reuter\n&#3;",
        " REUTER11:43/VB\n&#3;",
        "\n Reuter\n\x03",
    ],
)
def test_the_wire_sign_off_is_not_part_of_the_body(ending):
    story = STORY.replace("will be late.\n Reuter\n&#3;", "will be late." + ending)
    assert clean_reuters(story).body.endswith("the temporao will be late.")


def test_a_source_that_told_reuters_keeps_its_last_words():
    story = STORY.replace("will be late.\n Reuter", "will be late, he told Reuters.\n Reuter")
    assert clean_reuters(story).body.endswith("late, he told Reuters.")


def test_the_real_wrapped_reuters_headline_is_whole():
    # NEWID 10136 of reut2-010.sgm: the headline was cut at its first line, its tail began the body.
    path = need_shared(REUTERS / "reut2-010.sgm")
    story = next(
        d for d in read_file(path) if isinstance(d, Document) and 'NEWID="10136"' in d.content
    )
    article = clean_document(story)
    assert article.title == "VOLCKER REAFFIRMS G-6 NEGOTIATING PROCESS"
    assert article.body.startswith("WASHINGTON, March 26 - Federal Reserve Board Chairman Paul")
    assert article.body.endswith("in May.")


@pytest.mark.parametrize(("raw", "name"), [("james-baker", "James Baker"), ("reagan", "Reagan")])
def test_reuters_person_names(raw, name):
    assert person_name(raw) == name


# --- JSON lines ------------------------------------------------------------------------------


def test_jsonl_lines_become_articles_and_bad_lines_are_reported(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"id": "a1", "title": "One", "body": "Text", "topics": ["x"], '
        '"published": "2024-05-01T10:00:00Z", "lang": "en"}\n'
        "not json\n"
        '{"url": "https://n.example/b", "title": "Two", "topics": "y"}\n'
        '{"id": "c", "title": 5}\n'
    )
    items = list(read_file(path))
    assert [type(i).__name__ for i in items] == ["Document", "Skipped", "Document", "Document"]
    first = clean_document(items[0])
    assert first.id == "a1" and first.extra == {"lang": "en"}
    assert first.published == datetime(2024, 5, 1, 10, tzinfo=UTC)
    second = clean_document(items[2])
    assert second.topics == ["y"] and len(second.id) == 20
    with pytest.raises(CleanError, match="'title' must be a string"):
        clean_document(items[3])


def test_relative_canonical_link_is_resolved():
    html = (
        '<html><head><link rel="canonical" href="/2026/05/story"></head><body><article><p>'
        + "Words of the story. " * 10
        + "</p></article></body></html>"
    )
    article = clean_html(html, "https://news.example/section/page?x=1")
    assert article.url == "https://news.example/2026/05/story"


# --- headlines -----------------------------------------------------------------------------

STORY_TEXT = "".join(
    f"<p>Paragraph {n} of the story tells what happened, who said what and why it matters "
    "to the people who read about it this morning.</p>"
    for n in range(1, 5)
)


def news_page(title: str, h1: str = "", og_title: str = "", site_name: str = "") -> str:
    """A news page shaped as sites serve them: head metadata, a header, the article."""
    head = f"<title>{title}</title>"
    if og_title:
        head += f'<meta property="og:title" content="{og_title}">'
    if site_name:
        head += f'<meta property="og:site_name" content="{site_name}">'
    heading = f"<h1>{h1}</h1>" if h1 else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">{head}</head><body>'
        '<header><a href="/">Home</a> <a href="/world">World</a></header>'
        f"<main><article>{heading}{STORY_TEXT}</article></main></body></html>"
    )


@pytest.mark.parametrize(
    ("page", "url", "title"),
    [
        # The site's name after " - ", from og:site_name; the hyphen in "Covid-19" stays.
        (news_page("Covid-19 cases rise - BBC News", site_name="BBC News"),
         "https://www.bbc.co.uk/news/health-1", "Covid-19 cases rise"),
        # The same named only by the host.
        (news_page("Covid-19 cases rise - BBC News"), "https://www.bbc.co.uk/news/health-1",
         "Covid-19 cases rise"),
        (news_page("The Legend of Zelda: Tears of the Kingdom review - IGN"),
         "https://www.ign.com/articles/zelda",
         "The Legend of Zelda: Tears of the Kingdom review"),
        (news_page("Rates held \u2013 The Daily Ledger", site_name="The Daily Ledger"),
         "https://ledger.example/rates", "Rates held"),
        (news_page("Rates held \u2014 Ledger", site_name="The Ledger"),
         "https://ledger.example/rates", "Rates held"),
        (news_page("Rates held :: Ledger Online"), "https://ledger.example/rates", "Rates held"),
        (news_page("Rates held \u00b7 ledger.example"), "https://ledger.example/r", "Rates held"),
        # The site's name first.
        (news_page("WIRED | The Future of Banking Is You're Broke"),
         "https://www.wired.com/story/banking", "The Future of Banking Is You're Broke"),
        # A suffix that does not name the site is part of the headline.
        (news_page("Spurs 2 - 1 Arsenal - Sky Sports", site_name="Sky Sports"),
         "https://www.skysports.com/football/news/1", "Spurs 2 - 1 Arsenal"),
        (news_page("Trade talks stall - US"), "https://www.usatoday.com/story/1",
         "Trade talks stall - US"),
        (news_page("Brexit - what happens next", site_name="The Daily Ledger"),
         "https://ledger.example/brexit", "Brexit - what happens next"),
        # og:title carries the suffix too.
        (news_page("x", og_title="Rates held | The Ledger", site_name="The Ledger"),
         "https://ledger.example/rates", "Rates held"),
    ],
)  # fmt: skip
def test_site_names_are_taken_off_titles(page, url, title):
    assert clean_html(page, url).title == title


def test_a_pull_quote_in_the_only_h1_loses_to_what_og_title_and_title_agree_on():
    page = news_page(
        "Council approves harbour tunnel after ten-year fight | The Ledger",
        h1="\u201cWe finally have a way under the water\u201d",
        og_title="Council approves harbour tunnel after ten-year fight",
        site_name="The Ledger",
    )
    article = clean_html(page, "https://ledger.example/tunnel")
    assert article.title == "Council approves harbour tunnel after ten-year fight"


@pytest.mark.parametrize(
    ("h1", "og_title", "title"),
    [
        # The <h1> agrees with one of them: the page's own headline wins.
        ("Council approves harbour tunnel", "Council approves harbour tunnel after fight",
         "Something else entirely | The Ledger"),
        # og:title and <title> disagree: nothing to outvote the <h1>.
        ("Council approves harbour tunnel", "Tunnel vote: what it means",
         "Harbour news today | The Ledger"),
    ],
)  # fmt: skip
def test_the_h1_wins_unless_both_others_agree_against_it(h1, og_title, title):
    page = news_page(title, h1=h1, og_title=og_title, site_name="The Ledger")
    assert clean_html(page, "https://ledger.example/tunnel").title == h1


def test_a_page_no_extractor_reads_is_skipped_with_each_extractors_finding():
    page = news_page("Menu | The Ledger", site_name="The Ledger").replace(STORY_TEXT, "")
    with pytest.raises(ValueError) as error:
        clean_html(page, "https://ledger.example/")
    message = str(error.value)
    assert message.startswith("no article text: every extractor found too little")
    for name in ("trafilatura", "trafilatura-fallbacks", "trafilatura-recall"):
        assert f"{name} " in message


# --- boilerplate lines -------------------------------------------------------------------------

PROSE = [
    "The harbour board voted on Monday to reopen the north quay to container ships by the"
    " spring, after months of talks with the dock unions.",
    "Readers can read more about the dredging plan in the board's report, which runs to two"
    " hundred pages and was published on Friday.",
    "The mayor said the quay had been closed for three years and that the city had lost cargo"
    " to rival ports along the coast.",
]
BOILERPLATE = [
    "READ MORE: Harbour strike ends after nine days",
    "DON'T MISS",
    "Ferry fares to rise in spring [VIDEO]",
    "Get the latest news in your inbox. Sign up for our morning newsletter.",
    "Tags: harbour, shipping, unions",
    "Comments",
    "(Reporting by Ana Lopes; editing by Tobias Reinholt)",
]


def test_teasers_pitches_and_credits_are_not_story_text():
    paragraphs = [PROSE[0], BOILERPLATE[0], PROSE[1], *BOILERPLATE[1:3], PROSE[2], *BOILERPLATE[3:]]
    page = news_page("Port reopens north quay | The Ledger", site_name="The Ledger").replace(
        STORY_TEXT, "".join(f"<p>{p}</p>" for p in paragraphs)
    )
    article = clean_html(page, "https://ledger.example/quay")
    assert article.body.split("\n\n") == PROSE
    assert article.extra["extractor"] == "trafilatura"
