"""Names in running text: the people an article is about, and run-together topic lists.

A precise rule set, not a model: a person is a run of two to four capitalised words that follows
a title ("Foreign Minister Wang Yi"), stands next to a verb of speech ("said Ana Lopes"), or is a
listed topic whose surname the text also uses alone. Anything that reads like an organisation,
a place or a date is left out; a missed name costs less than a wrong one.
"""

from __future__ import annotations

import re

_UPPER = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_NAME_WORD = rf"[{_UPPER}][\w'\u2019\-]*"
_PARTICLE = r"(?:de|da|di|del|der|den|van|von|bin|ibn|al|el|la|le|du|dos)"
# Two to four capitalised words, with lower-case particles allowed between them.
_NAME = rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)?{_NAME_WORD}){{1,3}}"

_TITLES = [
    r"(?:Vice[ -]|Deputy )?President(?:-elect)?",
    r"(?:Deputy |Acting )?Prime Minister",
    r"(?:Foreign|Finance|Defen[cs]e|Trade|Economy|Energy|Health|Interior|Home|Justice|Labou?r"
    r"|Education|Transport|Agriculture|Environment|Culture|Sports?|Deputy|Junior|State)"
    r" (?:Minister|Secretary)",
    r"Minister",
    r"Secretary[- ]General",
    r"(?:Under[- ])?Secretary",
    r"Chancellor",
    r"Premier",
    r"Governor",
    r"Senator",
    r"Sen\.",
    r"Rep\.",
    r"Gov\.",
    r"Congress(?:man|woman)",
    r"Mayor",
    r"Ambassador",
    r"Envoy",
    r"Commissioner",
    r"Director(?:[- ]General)?",
    r"Chair(?:man|woman|person)?",
    r"Chief Executive(?: Officer)?",
    r"CEO",
    r"Spokes(?:man|woman|person)",
    r"Judge",
    r"Justice",
    r"King",
    r"Queen",
    r"Prince(?:ss)?",
    r"Pope",
    r"General",
    r"Gen\.",
    r"Admiral",
    r"Colonel",
    r"Dr\.?",
    r"Professor",
    r"Prof\.",
    r"Mr\.?",
    r"Mrs\.?",
    r"Ms\.?",
    r"coach",
    r"captain",
    r"economist",
    r"analyst",
]
_TITLE = "(?:" + "|".join(_TITLES) + ")"
_SPEECH = r"(?:said|says|told|added|stated|argued|noted|warned|explained|insisted|declared)"

_AFTER_TITLE = re.compile(rf"\b{_TITLE}\s+({_NAME})")
_BEFORE_SPEECH = re.compile(rf"({_NAME}),?\s+{_SPEECH}\b")
_AFTER_SPEECH = re.compile(rf"\b{_SPEECH},?\s+({_NAME})")
_TITLE_WORDS = re.compile(rf"\b{_TITLE}\s+")

# Words that mark a capitalised run as something other than a person.
_NOT_A_NAME = frozenset(
    """
    a an the this that these those it its in on at of for from with by to and or but as if when
    while after before during since however meanwhile also officials people monday tuesday
    wednesday thursday friday saturday sunday january february march april may june july august
    september october november december organisation organization cooperation initiative bank
    union council ministry party committee group fund agency authority association company corp
    corporation inc ltd plc university institute college school hospital times news herald post
    journal daily gazette wire press republic kingdom states nations federation government
    parliament congress senate court assembly army navy police department office commission
    board league club team cup sea river street road square bridge airport station port city
    province region county north south east west central global international national federal
    world market markets exchange index stock stocks power energy trade reuters china chinese
    beijing taiwan xinjiang america american europe european africa african asia asian britain
    british russia russian india indian japan japanese
    """.split()
)


def _clean_candidate(text: str) -> str | None:
    """Return ``text`` as a person's name, or None when it does not read as one."""
    # "Harbour Commissioner Olav Strand": the name is what follows the last title.
    name = _TITLE_WORDS.split(" ".join(text.split()))[-1].strip(" ,")
    words = name.split()
    if len(words) < 2:
        return None
    for word in words:
        bare = word.strip(".'\u2019-").casefold()
        if bare in _NOT_A_NAME or not (word[0].isupper() or re.fullmatch(_PARTICLE, word)):
            return None
        # Acronyms (OIC, NATO) are organisations, not given names.
        if len(word) > 1 and word.isupper():
            return None
    return name.removesuffix("'s").removesuffix("\u2019s")


def people_in_text(body: str, known: list[str] = ()) -> list[str]:
    """Return the people ``body`` is about or quotes, in order of first mention.

    ``known`` holds candidate names from elsewhere (the article's topics): one counts when the
    body names it in full and also refers to the person by surname alone ("... Taha said").
    """
    found: dict[str, int] = {}
    for pattern in (_AFTER_TITLE, _BEFORE_SPEECH, _AFTER_SPEECH):
        for match in pattern.finditer(body):
            name = _clean_candidate(match.group(1))
            if name and name not in found:
                found[name] = match.start(1)
    for candidate in known:
        name = _clean_candidate(candidate)
        if not name or name in found or name != candidate.strip():
            continue
        surname = re.escape(name.split()[-1])
        full = re.search(rf"(?<!\w){re.escape(name)}(?!\w)", body)
        alone = re.search(rf"(?<!\w){surname}(?!\w)", body.replace(name, ""))
        if full and alone:
            found[name] = full.start()
    # A shorter candidate inside a longer one ("Han Zheng" in "Vice President Han Zheng") is
    # the same person: keep the longest.
    names = sorted(found, key=found.get)
    return [n for n in names if not any(n != m and n in m for m in names)]


_SEPARATORS = re.compile(r"\s*[,;|\u00b7\u2022]\s*")


def split_topic_line(line: str, body: str) -> list[str]:
    """Split a topic list into its entries.

    Entries separated by commas, semicolons or bullets are split there. Entries run together
    with only spaces between them are split by the names the body uses: from the left, the
    longest run of words that occurs in the body is one entry; words the body never uses stay
    together as one entry.
    """
    line = " ".join(line.split())
    if not line:
        return []
    if _SEPARATORS.search(line):
        return [part for part in _SEPARATORS.split(line) if part]
    haystack = " ".join(body.split()).casefold()
    words = line.split(" ")
    topics: list[str] = []
    unmatched: list[str] = []
    i = 0
    while i < len(words):
        for j in range(len(words), i, -1):
            phrase = " ".join(words[i:j])
            if re.search(rf"(?<!\w){re.escape(phrase.casefold())}(?!\w)", haystack):
                break
        else:
            unmatched.append(words[i])
            i += 1
            continue
        if unmatched:
            topics.append(" ".join(unmatched))
            unmatched = []
        topics.append(phrase)
        i = j
    if unmatched:
        topics.append(" ".join(unmatched))
    return topics


# Capitalised words that stand before a name as a role, not as part of it ("U.S. Trade
# Representative Clayton Yeutter"); titles proper are cut by _TITLE_WORDS.
_ROLES = frozenset(
    """
    representative officer leader head chief executive spokesman spokeswoman minister secretary
    treasury treasurer exchequer fed reserve bundesbank chairman president governor deputy
    acting former ayatollah sheikh lady
    """.split()
)
_INITIAL = re.compile(rf"[{_UPPER}]\.")
# A run of capitalised words (or initials), each followed by a space.
_RUN = rf"(?:[{_UPPER}]\.\s*|{_NAME_WORD}\s+)+"
_SENTENCE_END = re.compile(r"(?:^|[.!?:;\"\u201d\u201c\n]\s*)$")


def full_names_before(text: str, surname: str) -> list[str]:
    """The full names ``text`` gives a person it also calls by ``surname`` alone: each run of
    capitalised words (initials allowed, titles and roles left out) that ends with the surname,
    such as "Paul Volcker" in "Fed Chairman Paul Volcker said". Case is ignored in the
    surname ("volcker" finds "Volcker"); a name of one word finds nothing.

    A run that starts a sentence counts only after a title or role: its first word may be
    any word ("Although Volcker said").
    """
    if not surname.strip() or len(surname.split()) != 1:
        return []
    pattern = re.compile(rf"({_RUN})((?i:{re.escape(surname.strip())}))(?!\w)")
    found = []
    for match in pattern.finditer(text):
        if not match.group(2)[0].isupper():
            continue
        run = match.group(1).split()
        words = _TITLE_WORDS.split(" ".join(run))[-1].split()
        # A possessive ("Salomon Brothers' Henry Kaufman") and what stands before it go.
        for i, word in enumerate(words):
            if word.endswith(("'", "'s", "\u2019", "\u2019s")):
                words = words[i + 1 :]
        # A role ("Australian Treasurer Paul Keating") and what stands before it go, then
        # other non-name words at the front; up to three words stay.
        for i, word in enumerate(words):
            if word.strip(".").casefold() in _ROLES:
                words = words[i + 1 :]
        words = words[-3:]
        while words and words[0].strip(".").casefold() in _NOT_A_NAME:
            words.pop(0)
        if not words or _INITIAL.fullmatch(words[0]) or not words[0][0].isupper():
            continue
        anchored = len(words) < len(run)
        if not anchored and _SENTENCE_END.search(text[max(0, match.start() - 3) : match.start()]):
            continue
        name = _clean_candidate(" ".join([*words, match.group(2)]))
        if name:
            found.append(name)
    return found
