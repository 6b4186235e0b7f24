"""One name, one facet value: the canonical form of each person and topic an index shows.

Sources spell an entity many ways: ``james-baker`` (a Reuters code), "James Baker", "JAMES
BAKER", "José"/"Jose", a surname alone. Each value is folded into a key (:func:`name_key`:
case, accents, hyphens, underscores and punctuation ignored); every key has one canonical
value, chosen when a generation is written and saved beside it (``names.json``):

1. the canonical name of an aliases file entry holding it (:func:`parse_aliases`);
2. for a one-word person (a surname alone), the one full name ending in that surname which the
   articles listing it give (in their people or their text), when no article gives another
   (:func:`learn`): two different full names are never merged;
3. otherwise the spelling most articles use (a person's all-lower-case or all-capitals
   spelling, or a code such as ``james-baker``, is written as words: "James Baker").

Within one article, a surname alone that ends exactly one of its full names is that person,
and a topic that names one of its people is left out of its topics. The store keeps every
value as the source gave it; the index shows, filters and counts the canonical ones, and the
words of the values as written stay searchable.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from search import settings
from search.article import Article
from search.errors import BadAliases

logger = logging.getLogger(__name__)

ALIASES_FILE = "aliases.txt"  # an operator's aliases, in the data folder
TABLE_FILE = "names.json"  # a generation's canonical names and the merges made
PEOPLE = "people"
TOPICS = "topics"
KINDS = (PEOPLE, TOPICS)
# How far `search stats` lists merges of each kind (all with --merges).
MERGES_SHOWN = 10

_NOT_KEY = re.compile(r"[\W_]+")
_SLUG = re.compile(r"[^\s]*[-_][^\s]*")


@functools.lru_cache(maxsize=100_000)
def name_key(value: str) -> str:
    """The folded form two spellings of one name share: lower case, no accents, words split
    at hyphens, underscores and punctuation ("James-Baker", "JAMES BAKER" -> "james baker")."""
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_KEY.sub(" ", bare.casefold()).strip()


def readable_person(value: str) -> str:
    """A person's name as words: a code or an all-lower-case or all-capitals spelling in
    title case ("james-baker", "JAMES BAKER" -> "James Baker"); any other as written."""
    value = " ".join(value.split())
    if value.islower() or value.isupper():
        if _SLUG.fullmatch(value):
            value = " ".join(value.replace("_", " ").replace("-", " ").split())
        return value.title()
    return value


def _display(kind: str, spelling: str) -> str:
    return readable_person(spelling) if kind == PEOPLE else " ".join(spelling.split())


# --- The aliases file ---


def parse_aliases(text: str, origin: str = ALIASES_FILE) -> dict[str, str]:
    """Read an aliases file: key of each name it lists -> its canonical name.

    Each line is a canonical name, ``=``, and its other spellings separated by ``|``
    (``James Baker = James A. Baker III | Jim Baker``); blank lines and lines starting
    with ``#`` are passed over. The canonical name is a spelling of itself.

    Raises:
        BadAliases: a line is malformed, or gives one spelling two canonical names; the
            message names the file and line.
    """
    aliases: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        canonical, equals, rest = line.partition("=")
        canonical = " ".join(canonical.split())
        variants = [v for v in (" ".join(v.split()) for v in rest.split("|"))]
        if not equals or not canonical or not name_key(canonical):
            raise BadAliases(
                f"{origin}, line {number}: expected 'Canonical name = variant | variant', "
                f"got {line[:80]!r}"
            )
        if not all(name_key(v) for v in variants):
            raise BadAliases(f"{origin}, line {number}: an empty variant in {line[:80]!r}")
        for variant in [canonical, *variants]:
            key = name_key(variant)
            if aliases.get(key, canonical) != canonical:
                raise BadAliases(
                    f"{origin}, line {number}: {variant!r} is already a spelling of "
                    f"{aliases[key]!r} (line {where[key]})"
                )
            aliases[key], where[key] = canonical, where.get(key, number)
    return aliases


def aliases_path(data_dir: str | Path) -> Path | None:
    """The aliases file to use: the ALIASES setting, else the data folder's aliases.txt
    when there is one, else None."""
    configured = settings.from_env("ALIASES")
    if configured:
        return Path(configured)
    path = Path(data_dir) / ALIASES_FILE
    return path if path.is_file() else None


def load_aliases(data_dir: str | Path) -> dict[str, str]:
    """The aliases of :func:`aliases_path` (none without a file).

    Raises:
        BadAliases: the file cannot be read or is malformed.
    """
    path = aliases_path(data_dir)
    if path is None:
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")  # (an editor's byte-order mark is no name)
    except UnicodeDecodeError:
        raise BadAliases(f"{path}: not UTF-8 text") from None
    except OSError as error:
        raise BadAliases(f"cannot read the aliases file {path}: {error.strerror}") from None
    return parse_aliases(text, str(path))


# --- The canonical names of a generation ---


@dataclass
class NameRow:
    """What :func:`learn` reads of one article: its people and topics as stored, and its
    text (title and body), asked for only when it lists a surname alone."""

    people: list[str]
    topics: list[str]
    text: Callable[[], str]


def rows_of(articles: Iterable[Article]) -> Iterable[NameRow]:
    """The :class:`NameRow` of each article."""
    for article in articles:
        yield NameRow(article.people, article.topics, lambda a=article: f"{a.title}\n{a.body}")


class NameTable:
    """Key -> canonical value of each kind (people, topics), and the merges made: canonical
    value -> {another spelling: articles}."""

    def __init__(self, aliases: dict[str, str] | None = None):
        self.aliases = dict(aliases or {})
        self.canonical: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self.merges: dict[str, dict[str, dict[str, int]]] = {kind: {} for kind in KINDS}

    def lookup(self, kind: str, value: str, record: bool = False) -> str:
        """The canonical value of ``value`` (one never seen: as an alias or readable, and
        added to the table when ``record``)."""
        table = self.canonical[kind]
        key = name_key(value)
        found = table.get(key)
        if found is None:
            found = self.aliases.get(key) or _display(kind, value)
            if record and key:
                table[key] = found
        return found

    def apply(self, article: Article, record: bool = False) -> tuple[list[str], list[str]]:
        """The canonical people and topics of ``article``, each once; ``record`` adds the
        values never seen to the table (for a generation written article by article)."""
        people: dict[str, str] = {}  # key of the canonical value -> it
        full = None
        for value in article.people:
            found = self.lookup(PEOPLE, value, record)
            if len(name_key(value).split()) == 1:
                if full is None:
                    full = [v for v in article.people if len(name_key(v).split()) > 1]
                ends = {self.lookup(PEOPLE, v, record) for v in full if _ends_with(v, value)}
                if len(ends) == 1:
                    found = ends.pop()
            if found:
                people.setdefault(name_key(found), found)
        topics: dict[str, str] = {}
        given = None
        for value in article.topics:
            key = name_key(value)
            found = self.lookup(TOPICS, value, record)
            folded = name_key(found)
            if given is None:  # the people's keys, as written and canonical
                given = {name_key(v) for v in article.people}.union(people)
            if found and folded not in given and key not in given:
                topics.setdefault(folded, found)
        if record:
            self._note(PEOPLE, article.people, set(people.values()))
            self._note(TOPICS, article.topics, set(topics.values()))
        return list(people.values()), list(topics.values())

    def _note(self, kind: str, values: list[str], chosen: set[str]) -> None:
        merges = self.merges[kind]
        for value in values:
            value = " ".join(value.split())
            target = self.lookup(kind, value)
            if value != target and target in chosen:
                merged = merges.setdefault(target, {})
                merged[value] = merged.get(value, 0) + 1

    def values(self, kind: str) -> int:
        """How many canonical values of ``kind`` the generation's articles hold."""
        return len(set(self.canonical[kind].values()))

    def to_json(self) -> dict:
        return {"canonical": self.canonical, "merges": self.merges, "aliases": self.aliases}

    def save(self, folder: str | Path) -> None:
        """Write the table into ``folder`` (a generation), replacing the old one atomically."""
        path = Path(folder) / TABLE_FILE
        tmp = path.with_name(f".{TABLE_FILE}.tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.to_json(), handle, ensure_ascii=False, separators=(",", ":"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, folder: str | Path) -> NameTable | None:
        """The table saved in ``folder``; None when there is none (a generation written before
        names were made canonical) or it cannot be read."""
        path = Path(folder) / TABLE_FILE
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            table = cls(data["aliases"])
            for kind in KINDS:
                table.canonical[kind] = dict(data["canonical"][kind])
                table.merges[kind] = dict(data["merges"][kind])
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as error:
            logger.warning("cannot read %s: %s", path, error)
            return None
        return table


class TableLoader:
    """A generation's table, read from its folder the first time it is asked for (searches
    without a person or topic filter never need it); thread-safe."""

    def __init__(self, folder: str | Path):
        self.folder = folder
        self._lock = threading.Lock()
        self._table: NameTable | None = None
        self._read = False

    def table(self) -> NameTable | None:
        with self._lock:
            if not self._read:
                self._table, self._read = NameTable.load(self.folder), True
            return self._table


def _ends_with(full: str, surname: str) -> bool:
    return name_key(full).split()[-1] == name_key(surname)


def _words(name: str) -> list[str]:
    return name_key(name).split()


def _one_person(names: Counter[str]) -> str | None:
    """The full name meant by all of ``names`` (full names found for one surname), or None
    when two of them are different people: each must be the other with words in front
    ("Nigel Lawson", "Exchequer Nigel Lawson"), never with words changed ("George W. Bush",
    "George H. W. Bush"). The name most often found stands for them (of equals, the shorter)."""
    keys = sorted({" ".join(_words(n)) for n in names}, key=len)
    for short, long in zip(keys, keys[1:], strict=False):
        if not (" " + long).endswith(" " + short):
            return None
    if not keys:
        return None
    return min(names, key=lambda n: (-names[n], len(_words(n)), n))


def learn(rows: Iterable[NameRow], aliases: dict[str, str] | None = None) -> NameTable:
    """The canonical names of a collection of articles (one pass over ``rows``)."""
    # (Imported here: the cleaners' package is not needed to read a generation's names.)
    from search.clean.names import full_names_before

    table = NameTable(aliases)
    spellings = {kind: defaultdict(Counter) for kind in KINDS}  # key -> spelling -> articles
    full_names: dict[str, Counter[str]] = defaultdict(Counter)  # surname key -> full names
    for row in rows:
        people = [" ".join(p.split()) for p in row.people]
        text = None
        for kind, values in ((PEOPLE, people), (TOPICS, row.topics)):
            for value in values:
                value = " ".join(value.split())
                key = name_key(value)
                if key:
                    spellings[kind][key][value] += 1
        for value in people:
            surname = name_key(value)
            if not surname or " " in surname:
                continue
            found = [v for v in people if len(_words(v)) > 1 and _ends_with(v, value)]
            if text is None:
                text = row.text()
            found += full_names_before(text, surname)
            full_names[surname].update(set(found))
    for kind in KINDS:
        table.canonical[kind] = {
            key: table.aliases.get(key) or _display(kind, _most_used(counts))
            for key, counts in spellings[kind].items()
        }
    people = table.canonical[PEOPLE]
    for surname, names in full_names.items():
        if surname in table.aliases:
            continue  # an operator's alias wins
        person = _one_person(names)
        if person:
            canonical = people.setdefault(name_key(person), table.lookup(PEOPLE, person))
            people[surname] = canonical
    for kind in KINDS:
        merges = table.merges[kind]
        for key, counts in spellings[kind].items():
            target = table.canonical[kind][key]
            for spelling, count in counts.items():
                if spelling != target:
                    merges.setdefault(target, {})[spelling] = count
    return table


def _most_used(counts: Counter[str]) -> str:
    # Most articles first; of equals, the one with capitals and accents (the most written).
    return min(counts, key=lambda s: (-counts[s], s.islower() or s.isupper(), s.isascii(), s))


def describe(table: NameTable, limit: int | None = MERGES_SHOWN) -> list[str]:
    """Lines for `search stats`: each kind's canonical values and merges, the merges that
    gather the most articles first (``limit`` of each kind; None: all)."""
    lines = []
    for kind in KINDS:
        merges = table.merges[kind]
        lines.append(f"{kind}: {table.values(kind)} values, {len(merges)} merged")
        ranked = sorted(merges.items(), key=lambda item: (-sum(item[1].values()), item[0]))
        shown = ranked if limit is None else ranked[:limit]
        for target, spellings in shown:
            variants = ", ".join(
                f"{spelling!r} ({count})"
                for spelling, count in sorted(spellings.items(), key=lambda s: (-s[1], s[0]))
            )
            lines.append(f"  {variants} -> {target!r}")
        if len(shown) < len(ranked):
            lines.append(f"  ... and {len(ranked) - len(shown)} more (search stats --merges)")
    return lines
