"""Did you mean: each rare or unknown word of a query respelt on its own, towards a much more
common spelling one edit (or, for an unknown word, two) away.

Candidates come from the generation's lexicon (its articles' words as written), found with
Whoosh's Levenshtein automata; the one most articles spell so wins, if it is common enough to
be worth offering. README.md ("Did you mean") shows the rule at work on Reuters.
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

# A word is respelt (each word on its own; a word spelt as the articles spell it is kept):
# - when no article holds it: to its most common spelling one edit away (else two) that at
#   least SUGGEST_MIN articles hold, since anything is better than nothing;
# - when some do: only if it is rare (in at most RARE_SHARE of the articles, or RARE_MIN), has
#   KNOWN_MIN_LENGTH letters or more (short words have many real neighbours: "sad" and "said";
#   Lucene's DirectSpellChecker has a like minimum), and a spelling one edit away is at least
#   TYPO_RATIO times as common: a typo as a noisy channel sees it, when typing the common word
#   goes wrong one time in a hundred or less.
SUGGEST_MIN = 3
TYPO_RATIO = 100
KNOWN_MIN_LENGTH = 5
RARE_SHARE = 0.001
RARE_MIN = 2
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
        """A much more common near spelling of a rare or unknown ``word``, or None (cached).
        ``frequency(stem)``: how many bodies hold a stem (by default, as Whoosh counts)."""
        if word in self._respellings:
            return self._respellings[word]
        reader = searcher.reader()
        frequency = frequency or (lambda stem: reader.doc_frequency(schema.BODY, stem))
        best = self._respelling(searcher, word, frequency, reader.doc_count())
        if len(self._respellings) >= 10_000:
            self._respellings.pop(next(iter(self._respellings)))
        self._respellings[word] = best
        return best

    def _respelling(
        self, searcher, word: str, frequency: Callable[[str], int], documents: int
    ) -> str | None:
        """The respelling of ``word`` by the rule above (uncached), or None."""
        analyzer = searcher.schema[schema.BODY].analyzer
        stems = [t.text for t in analyzer(word)]
        if not stems:
            return None  # a stop word: not searched, nothing to correct
        found = frequency(stems[0])
        if found > max(RARE_MIN, RARE_SHARE * documents):
            return None  # common enough to be meant
        if found and len(word) < KNOWN_MIN_LENGTH:
            return None  # short words have many real neighbours: "sad" is not "said"
        if self._corrector is None:
            self._corrector = _LexiconCorrector(self.lexicon.counts)
        # One edit finds most typos and is far cheaper to look for than two; a word that some
        # articles hold is only respelt one edit away.
        distances = (1, 2) if found == 0 else (1,)
        least = SUGGEST_MIN if found == 0 else TYPO_RATIO * found
        for distance in distances:
            best, best_found = None, 0
            for candidate in self._corrector.suggest(
                word.lower(), limit=5, maxdist=distance, prefix=1
            ):
                candidate_stems = [t.text for t in analyzer(candidate)]
                if not candidate_stems or candidate_stems[0] == stems[0]:
                    continue  # a stop word, or another form of the same word
                # As written: a typo such as "stronge" has the stem of "stronger".
                candidate_found = min(self.lexicon.counts[candidate], frequency(candidate_stems[0]))
                if candidate_found > best_found:
                    best, best_found = candidate, candidate_found
            if best_found >= least:
                return best
        return None


def respelled(text: str, respell: Callable[[str], str | None]) -> str:
    """``text`` with each plain word that ``respell`` has a better spelling for replaced."""
    corrected = text
    for match in reversed(list(_PLAIN_WORD.finditer(text))):
        better = respell(match.group(0))
        if better:
            corrected = corrected[: match.start()] + better + corrected[match.end() :]
    return corrected
