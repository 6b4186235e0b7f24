"""Browser search: the OpenSearch description, its link from every page, and suggestions in
the form browsers ask for."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"


def test_the_description_names_the_search_and_suggest_urls(client):
    response = client.get("/opensearch.xml", base_url="https://news.example")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{OPENSEARCH}OpenSearchDescription"
    assert root.findtext(f"{OPENSEARCH}ShortName") == "News search"
    assert root.findtext(f"{OPENSEARCH}InputEncoding") == "UTF-8"
    urls = {url.get("type"): url.get("template") for url in root.iter(f"{OPENSEARCH}Url")}
    assert urls == {
        "text/html": "https://news.example/?q={searchTerms}",
        "application/x-suggestions+json": (
            "https://news.example/api/suggest?q={searchTerms}&format=opensearch"
        ),
        "application/json": "https://news.example/api/search?q={searchTerms}",
    }
    # Each template, filled in, is a working search.
    filled = urls["application/x-suggestions+json"].replace("{searchTerms}", "ene")
    assert client.get(filled.removeprefix("https://news.example")).status_code == 200
    assert client.get("/?q=energy").status_code == 200


@pytest.mark.parametrize("path", ["/", "/?q=energy", "/help"])
def test_every_page_links_the_description(client, path):
    text = client.get(path).get_data(as_text=True)
    assert (
        '<link rel="search" type="application/opensearchdescription+xml" title="News search" '
        'href="/opensearch.xml">'
    ) in text


def test_suggestions_in_the_browsers_form(client):
    response = client.get("/api/suggest?q=ene&format=opensearch")
    assert response.status_code == 200
    assert response.mimetype == "application/x-suggestions+json"
    typed, completions = response.get_json()
    assert typed == "ene"
    assert completions[0] == "Energy" and "Energy prices" in completions
    # One of each, whatever its case (a topic "Energy" and a headline word "energy").
    assert len({c.casefold() for c in completions}) == len(completions)
    limited = client.get("/api/suggest?q=ene&format=opensearch&limit=2").get_json()
    assert limited == ["ene", completions[:2]]
    # Without the format, the JSON the search box reads, as before.
    assert set(client.get("/api/suggest?q=ene").get_json()) == {"q", "people", "topics", "words"}


@pytest.mark.parametrize("value", ["xml", "", "OPENSEARCH", "json\x00"])
def test_an_unknown_suggestion_format_is_a_400(client, value):
    response = client.get("/api/suggest", query_string={"q": "ene", "format": value})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["param"] == "format" and "json or opensearch" in error["message"]
