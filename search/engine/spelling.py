"""Did you mean: a much more common near spelling of a query's rare words.

Candidates come from the generation's lexicon (its articles' words as written), found with
Whoosh's Levenshtein automata; the one whose stem most articles hold wins, if it is common
enough to be worth offering.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from whoosh.automata.fsa import find_all_matches
from whoosh.automata.lev import levenshtein_automaton
from whoosh.spelling import Corrector, ListCorrector

from search.engine import schema
from search.engine.lexicon import Lexicon

logger = logging.getLogger(__name__)

# A query word found in at most this many documents gets a spelling check; a respelling is
# offered when it is in at least SUGGEST_MIN documents and SUGGEST_RATIO times as many.
RARE_DOC_FREQUENCY = 2
SUGGEST_MIN = 3
SUGGEST_RATIO = 20
# A word of three letters or more that is not a field name, wildcard or fuzzy term.
_PLAIN_WORD = re.compile(r"(?<![\w:*?~])[^\W\d_]{3,}(?![\w:*?~])")


class _LexiconCorrector(Corrector):
    """Whoosh's corrector over a lexicon's words, ranking words within reach by article count."""

    def __init__(self, counts: dict[str, int]):
        self.counts = counts
        self.words = sorted(counts)

    def _suggestions(self, text: str, maxdist: int, prefix: int) -> Iterator[tuple[int, str]]:
        if not self.words:
            return
        dfa = levenshtein_automaton(text, maxdist, prefix).to_dfa()
        for word in find_all_matches(dfa, ListCorrector.Skipper(self.words)):
            yield self.counts[word], word


class Speller:
    """Respellings for one version of an index, shared by a process's threads (cached)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._respellings: dict[str, str | None] = {}
        self._lexicon: Lexicon | None = None
        self._corrector: _LexiconCorrector | None = None

    @property
    def lexicon(self) -> Lexicon:
        """The generation's written words (read when first needed)."""
        if self._lexicon is None:
            lexicon = Lexicon.load(self.folder)
            if lexicon is None:
                logger.warning(
                    "no readable lexicon in %s: no spelling suggestions until the next ingest "
                    "or reindex",
                    self.folder,
                )
                lexicon = Lexicon()
            self._lexicon = lexicon
        return self._lexicon

    def respell(
        self, searcher, word: str, frequency: Callable[[str], int] | None = None
    ) -> str | None:
        """A much more common near spelling of a rare ``word``, or None (cached).
        ``frequency(stem)``: how many bodies hold a stem (by default, as Whoosh counts)."""
        if word in self._respellings:
            return self._respellings[word]
        reader = searcher.reader()
        frequency = frequency or (lambda stem: reader.doc_frequency(schema.BODY, stem))
        analyzer = searcher.schema[schema.BODY].analyzer
        stems = [t.text for t in analyzer(word)]
        rarity = frequency(stems[0]) if stems else RARE_DOC_FREQUENCY + 1
        best, best_frequency = None, 0
        if rarity <= RARE_DOC_FREQUENCY:
            if self._corrector is None:
                self._corrector = _LexiconCorrector(self.lexicon.counts)
            corrector = self._corrector
            # One edit finds most typos and is far cheaper to look for than two.
            candidates = corrector.suggest(word.lower(), limit=5, maxdist=1, prefix=1)
            candidates = candidates or corrector.suggest(word.lower(), limit=5, maxdist=2, prefix=1)
            for candidate in candidates:
                candidate_stems = [t.text for t in analyzer(candidate)]
                found = frequency(candidate_stems[0]) if candidate_stems else 0
                if found > best_frequency:
                    best, best_frequency = candidate, found
        if best_frequency < max(SUGGEST_MIN, SUGGEST_RATIO * rarity):
            best = None
        if len(self._respellings) >= 10_000:
            self._respellings.pop(next(iter(self._respellings)))
        self._respellings[word] = best
        return best


def respelled(text: str, respell: Callable[[str], str | None]) -> str:
    """``text`` with each plain word that ``respell`` has a better spelling for replaced."""
    corrected = text
    for match in reversed(list(_PLAIN_WORD.finditer(text))):
        better = respell(match.group(0))
        if better:
            corrected = corrected[: match.start()] + better + corrected[match.end() :]
    return corrected
