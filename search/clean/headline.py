"""A page's headline: the page's <h1>, og:title and <title> weighed against each other, with
the site's name taken off the end (or the start) of a <title>."""

from __future__ import annotations

import re
from collections.abc import Iterable

# A separator between a headline and a site name: one of | - – — :: · with space either side
# (so "Covid-19" or "Coca-Cola" is never split).
_SEPARATOR = re.compile(r"\s+(?:\||-|\u2013|\u2014|::|\u00b7)\s+")
_WORD = re.compile(r"\w+")
# Words a host carries that its site's name need not: www.bbc.co.uk is "bbc".
_HOST_NOISE = {"www", "m", "amp", "com", "co", "org", "net", "news", "uk", "us", "au", "de"}


def _key(text: str) -> str:
    """Letters and digits only, case folded: "MacRumors.com" and "macrumors com" meet."""
    return "".join(_WORD.findall(text.casefold()))


def site_names(names: Iterable[str], host: str) -> set[str]:
    """The keys a site's name may take in a title: its declared names and its host's name."""
    keys = {_key(name) for name in names}
    labels = host.casefold().split(".")[:-1]  # without the top-level domain
    labels = [label for label in labels if label and label not in _HOST_NOISE]
    keys.update(labels[-1:])  # news.bbc.co.uk -> "bbc", www.ign.com -> "ign"
    keys.add(_key(host.removeprefix("www.")))
    return {key for key in keys if len(key) >= 2}


def _names_site(part: str, sites: set[str]) -> bool:
    key = _key(part)
    if len(key) < 2:
        return False
    # "MacRumors" names macrumors.com, "BBC News" bbc.co.uk; a word of two letters ("US")
    # only names a site whose whole name it is.
    return any(
        key == site
        or (min(len(key), len(site)) >= 3 and (site.startswith(key) or key.startswith(site)))
        for site in sites
    )


def strip_site(title: str, sites: set[str]) -> str:
    """``title`` without the parts that name the site: "Covid-19 cases rise - BBC News" ->
    "Covid-19 cases rise", "IGN | Game review" -> "Game review"; other parts are kept."""
    parts = _SEPARATOR.split(title)
    while len(parts) > 1 and _names_site(parts[-1], sites):
        parts.pop()
    while len(parts) > 1 and _names_site(parts[0], sites):
        parts.pop(0)
    if len(parts) == len(_SEPARATOR.split(title)):
        return title
    # Put back the separators between the parts that stay, as the title had them.
    start = title.find(parts[0])
    end = title.rfind(parts[-1]) + len(parts[-1])
    return title[start:end].strip()


def _agree(a: str, b: str) -> bool:
    """Whether two candidates are the same headline: equal, one inside the other, or sharing
    most of their words."""
    ka, kb = _key(a), _key(b)
    if not ka or not kb:
        return False
    if ka in kb or kb in ka:
        return True
    wa, wb = set(_WORD.findall(a.casefold())), set(_WORD.findall(b.casefold()))
    return len(wa & wb) >= 0.6 * max(len(wa), len(wb))


def choose_headline(
    headings: list[str],
    og_title: str,
    ld_headline: str,
    page_title: str,
    sites: set[str],
) -> str:
    """The headline a reader sees.

    The page's only <h1> wins unless it is the site's name, or unless og:title and <title>
    agree with each other and not with it (a pull quote or a section name in the <h1>): then
    what they agree on. Without one <h1>: og:title, then the JSON-LD headline, then <title>,
    each without the site's name.
    """
    og = strip_site(og_title, sites) if og_title else ""
    page = strip_site(page_title, sites) if page_title else ""
    headings = [h for h in headings if h and _key(h) not in sites]
    if len(headings) == 1:
        h1 = headings[0]
        if og and page and _agree(og, page) and not _agree(h1, og) and not _agree(h1, page):
            return og
        return h1
    return og or ld_headline or page
