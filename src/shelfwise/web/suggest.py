"""Autocomplete from product titles, for when the search API has no suggest endpoint of its own.

Offers the name part of titles (before the variant after a comma or dash) and its last two words (the
kind of product) whose words start with what was typed, most common first, so that "fry" offers
"Frying Pan" once before any one brand's pan."""

from __future__ import annotations

import threading
from collections import Counter

from shelfwise.engine import Engine
from shelfwise.text.analysis import words

MAX_SUGGESTIONS = 8


def product_name(title: str) -> str:
    return title.split(",")[0].split(" - ")[0].strip()


class TitleSuggester:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._names: list[tuple[str, str, int]] = []  # (name, lowered, how many products share it)
        self._built_for: tuple[int, object] | None = None

    def suggest(self, typed: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
        prefixes = words(typed, "autocomplete")
        if not prefixes:
            return []
        found = []
        for name, lowered, _ in self._index():
            tokens = words(lowered, "autocomplete")
            if all(any(token.startswith(prefix) for token in tokens) for prefix in prefixes):
                found.append(name)
                if len(found) >= limit:
                    break
        return found

    def _index(self) -> list[tuple[str, str, int]]:
        key = (self.engine.store.count_products(), self.engine.store.last_product_change())
        with self._lock:
            if key != self._built_for:
                counts: Counter[str] = Counter()
                for product in self.engine.store.products():
                    name = product_name(product.title)
                    counts[name] += 1
                    counts[" ".join(name.split()[-2:])] += 1  # the generic kind: "Frying Pan"
                # The shorter generic names first ("Frying Pan" before a brand's full model name).
                ranked = sorted(counts.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
                self._names = [(name, name.lower(), count) for name, count in ranked]
                self._built_for = key
            return self._names
