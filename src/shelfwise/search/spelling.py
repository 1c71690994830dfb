"""Typo tolerance against the catalog's own vocabulary: a SymSpell-style corrector plus word joins/splits.

Only words the catalog never uses are corrected (a known word cannot be a typo that costs a match); each
is replaced by the most frequent catalog word within a Damerau-Levenshtein distance of 1 (2 for words of
`long_word` letters or more). Adjacent words that the catalog writes as one ("deck over" -> "deckover")
are joined, and an unknown word that is two catalog words run together is split.

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
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.components import Component
from shelfwise.text.analysis import stemmer, words
from shelfwise.text.cjk import is_han_word


class SpellingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    min_word_chars: int = Field(default=4, ge=2, description="Shorter words are never corrected.")
    long_word: int = Field(default=8, ge=3, description="Words this long may be 2 edits from the fix.")
    min_frequency: int = Field(default=2, ge=1, description="Catalog words rarer than this are not fixes.")
    stemmer_language: str | None = Field(
        default="english", description="A word whose stem the catalog uses is known: `weeds` is not a typo."
    )


@dataclass(frozen=True)
class Correction:
    """The query as corrected; `changes` maps each replaced span to what replaced it."""

    text: str
    changes: dict[str, str] = field(default_factory=dict)

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

    def fit(self, texts: Iterable[str]) -> Self:
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(words(text, "letters"))
        return self._attach(dict(counts))

    def _attach(self, frequency: dict[str, int]) -> Self:
        self.frequency = frequency
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
        output: list[str] = []
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
                    i += 2
                    continue
            fixed = self.correct_word(word)
            if fixed is None and not self.knows(word) and _joinable(word) and len(word) >= 6:
                fixed = self._split(word)
            if fixed is not None and fixed != word:
                changes[word] = fixed
                output.append(fixed)
            else:
                output.append(word)
            i += 1
        return Correction(text=" ".join(output) if changes else query, changes=changes)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"frequency": self.frequency}, {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self._attach({str(word): int(count) for word, count in values["frequency"].items()})
