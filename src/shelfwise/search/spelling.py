"""Typo tolerance against the catalog's own vocabulary: a SymSpell-style corrector plus word joins/splits.

Only words the catalog never uses are corrected (a known word cannot be a typo that costs a match); each
is replaced by the most frequent catalog word within a Damerau-Levenshtein distance of 1 (2 for words of
`long_word` letters or more). Adjacent words that the catalog writes as one ("deck over" -> "deckover")
are joined, and an unknown word that is two catalog words run together is split.

A word the catalog lacks but the language has ("chair" in a shop that sells no chairs) is not a typo: it
says what the shopper wants, so it is searched as typed and its nearest catalog word ("hair") is only
offered as a suggestion. A word of neither is corrected automatically only when the fix is far more likely
than the word as typed (`min_likelihood_ratio`, from catalog and general word frequencies); otherwise the
fix is a suggestion too.

Han (Chinese) text is never touched: one edit to a Chinese word is another word (红色 -> 白色), and a run
of Han characters is a phrase, not a word, so it is neither learnt nor corrected, joined or split; the
Latin words around it are still corrected ("iphnoe 手机壳" -> "iphone 手机壳").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from shelfwise.io.components import Component
from shelfwise.text.analysis import stemmer, words
from shelfwise.text.cjk import is_han_word
from shelfwise.text.dictionary import LANGUAGES, GeneralDictionary, general_dictionary


class SpellingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_word_chars: int = Field(default=4, ge=2, description="Shorter words are never corrected.")
    long_word: int = Field(default=8, ge=3, description="Words this long may be 2 edits from the fix.")
    min_frequency: int = Field(default=2, ge=1, description="Catalog words rarer than this are not fixes.")
    stemmer_language: str | None = Field(
        default="english", description="A word whose stem the catalog uses is known: `weeds` is not a typo."
    )
    dictionary_language: str | None = Field(
        default="en",
        description="The general dictionary (ISO 639-1) that tells real words from typos; None: none.",
    )
    min_dictionary_count: int = Field(
        default=100, ge=1, description="A word this frequent in the general dictionary is a real word."
    )
    min_likelihood_ratio: float = Field(
        default=100.0,
        ge=1.0,
        description="A fix is applied automatically only when this many times more likely than the word "
        "as typed (else it is only suggested).",
    )
    suggest_below_results: int = Field(
        default=5,
        ge=0,
        description="A suggestion is offered (`did_you_mean`) only when the query as typed matched fewer "
        "products than this.",
    )

    @field_validator("dictionary_language")
    @classmethod
    def _known_language(cls, language: str | None) -> str | None:
        if language is not None and language not in LANGUAGES:
            raise ValueError(f"no general dictionary for {language!r}; known: {', '.join(LANGUAGES)}")
        return language


@dataclass(frozen=True)
class Correction:
    """The query as corrected; `changes` maps each replaced span to what replaced it. `suggestion` is the
    query with the fixes too doubtful to apply (`suggested`) applied as well, when there are any."""

    text: str
    changes: dict[str, str] = field(default_factory=dict)
    suggested: dict[str, str] = field(default_factory=dict)
    suggestion: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _deletes(word: str, distance: int) -> set[str]:
    found = {word}
    frontier = {word}
    for _ in range(distance):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, or limit + 1 once it is certainly above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _joinable(word: str) -> bool:
    """Letters that may be joined to or split from a neighbour: not digits, not Han."""
    return word.isalpha() and not is_han_word(word)


class SpellingCorrector(Component[SpellingConfig]):
    """A component: the catalog's word counts are its state; the deletes are rebuilt from them on load."""

    kind = "spelling_corrector"
    holds_user_data = False  # learns the catalog's vocabulary, never queries
    config_type = SpellingConfig

    def __init__(self, config: SpellingConfig | None = None) -> None:
        super().__init__(config)
        self.frequency: dict[str, int] = {}
        self._deletes: dict[str, list[str]] = {}
        self._stems: set[str] = set()
        self._stemmer = stemmer(self.config.stemmer_language)
        language = self.config.dictionary_language
        self._dictionary: GeneralDictionary | None = general_dictionary(language) if language else None
        self._total = 1

    def fit(self, texts: Iterable[str]) -> Self:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(words(text, "letters"))
        return self._attach(dict(counts))

    def _attach(self, frequency: dict[str, int]) -> Self:
        self.frequency = frequency
        self._total = max(sum(frequency.values()), 1)
        self._stems = set(self._stemmer.stemWords(list(frequency))) if self._stemmer else set()
        # Deletes of distance 1 on the catalog side; the query side goes to distance 2 for long words, so
        # the pair covers most two-edit typos at a tenth of the memory of distance-2 deletes on both sides.
        deletes: dict[str, list[str]] = {}
        for word, count in frequency.items():
            if count < self.config.min_frequency or len(word) < self.config.min_word_chars - 1:
                continue
            for variant in _deletes(word, 1):
                deletes.setdefault(variant, []).append(word)
        self._deletes = deletes
        return self

    def knows(self, word: str) -> bool:
        if word in self.frequency:
            return True
        return self._stemmer is not None and self._stemmer.stemWord(word) in self._stems

    def is_word_of_language(self, word: str) -> bool:
        """Whether the general dictionary knows `word` well enough for it not to be a typo."""
        return (
            self._dictionary is not None and self._dictionary.count(word) >= self.config.min_dictionary_count
        )

    def _likelihood(self, word: str, dictionary: GeneralDictionary) -> float:
        """How likely a shopper means `word`: its catalog and general frequencies, averaged; never below
        one occurrence in the general corpus, so an unseen word is unlikely but not impossible."""
        catalog = self.frequency.get(word, 0) / self._total
        return (catalog + max(dictionary.count(word), 1) / dictionary.total) / 2

    def applies(self, word: str, fix: str) -> bool:
        """Whether `fix` replaces `word` without asking: `word` is no word of the language and the fix is
        `min_likelihood_ratio` times more likely. Without a dictionary the catalog is all there is to go
        by, and every fix applies."""
        dictionary = self._dictionary
        if dictionary is None:
            return True
        return not self.is_word_of_language(word) and self._likelihood(fix, dictionary) >= (
            self.config.min_likelihood_ratio * self._likelihood(word, dictionary)
        )

    def correct_word(self, word: str) -> str | None:
        """The best catalog word for an unknown `word`, or None when it is known or nothing is close."""
        if (
            self.knows(word)
            or len(word) < self.config.min_word_chars
            or not word.isalpha()
            or is_han_word(word)
        ):
            return None
        limit = 2 if len(word) >= self.config.long_word else 1
        candidates: set[str] = set()
        for variant in _deletes(word, limit):
            candidates.update(self._deletes.get(variant, ()))
        best: tuple[int, int, str] | None = None
        for candidate in candidates:
            distance = damerau_levenshtein(word, candidate, limit)
            if distance > limit:
                continue
            key = (distance, -self.frequency[candidate], candidate)
            if best is None or key < best:
                best = key
        return best[2] if best else None

    def _split(self, word: str) -> str | None:
        """`showerhead` -> `shower head` when both halves are common catalog words."""
        best: tuple[int, str] | None = None
        for cut in range(3, len(word) - 2):
            left, right = word[:cut], word[cut:]
            score = min(self.frequency.get(left, 0), self.frequency.get(right, 0))
            if score >= self.config.min_frequency and (best is None or score > best[0]):
                best = (score, f"{left} {right}")
        return best[1] if best else None

    def correct(self, query: str) -> Correction:
        typed = words(query, "spelling")
        if not typed or not self.frequency:
            return Correction(text=query)
        changes: dict[str, str] = {}
        suggested: dict[str, str] = {}
        output: list[str] = []
        suggestion: list[str] = []
        i = 0
        while i < len(typed):
            word = typed[i]
            if i + 1 < len(typed) and _joinable(word) and _joinable(typed[i + 1]):
                joined = word + typed[i + 1]
                if self.frequency.get(joined, 0) >= self.config.min_frequency and (
                    not self.knows(word)
                    or not self.knows(typed[i + 1])
                    or self.frequency[joined]
                    > min(self.frequency.get(word, 0), self.frequency.get(typed[i + 1], 0))
                ):
                    changes[f"{word} {typed[i + 1]}"] = joined
                    output.append(joined)
                    suggestion.append(joined)
                    i += 2
                    continue
            fixed = self.correct_word(word)
            if fixed is None and not self.knows(word) and _joinable(word) and len(word) >= 6:
                fixed = self._split(word)
            if fixed is None or fixed == word:
                output.append(word)
                suggestion.append(word)
            elif " " in fixed or self.applies(word, fixed):  # a split changes no letter
                changes[word] = fixed
                output.append(fixed)
                suggestion.append(fixed)
            else:
                suggested[word] = fixed
                output.append(word)
                suggestion.append(fixed)
            i += 1
        return Correction(
            text=" ".join(output) if changes else query,
            changes=changes,
            suggested=suggested,
            suggestion=" ".join(suggestion) if suggested else None,
        )

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"frequency": self.frequency}, {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self._attach({str(word): int(count) for word, count in values["frequency"].items()})
