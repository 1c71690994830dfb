"""Word frequencies of a language in general, from the frequency lists pyspellchecker ships in its wheel.

The speller asks it whether a word the catalog lacks is still a word of the language ("chair" in a shop
that sells no chairs): such a word says what the shopper wants and is not a typo.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from spellchecker import SpellChecker

LANGUAGES = ("en", "es", "fr", "it", "pt", "de", "ru", "ar", "lv", "eu", "nl", "fa")


class GeneralDictionary:
    """How often each word occurs in a large general corpus of one language."""

    def __init__(self, counts: Mapping[str, int], total: int) -> None:
        self._counts = counts
        self.total = max(total, 1)

    def count(self, word: str) -> int:
        return self._counts.get(word.lower(), 0)

    def probability(self, word: str) -> float:
        return self.count(word) / self.total


@cache
def general_dictionary(language: str) -> GeneralDictionary:
    """The dictionary of `language` (an ISO 639-1 code among LANGUAGES), loaded once per process."""
    if language not in LANGUAGES:
        raise ValueError(f"no general dictionary for language {language!r}; known: {', '.join(LANGUAGES)}")
    frequency = SpellChecker(language=language).word_frequency
    return GeneralDictionary(frequency.dictionary, frequency.total_words)
