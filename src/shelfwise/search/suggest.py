"""Autocomplete: popular past queries first, then product titles, by prefix, in well under a millisecond."""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict

from shelfwise.io.components import Component
from shelfwise.io.forgetting import Forgotten, Subject
from shelfwise.text.analysis import normalise


class SuggesterConfig(BaseModel):
    """Autocomplete has no settings yet: what it learns is the shop's past queries and titles."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Suggester(Component[SuggesterConfig]):
    """A component: past queries with their counts and the titles as typed are its state."""

    kind = "suggester"
    config_type = SuggesterConfig

    def __init__(self, config: SuggesterConfig | None = None) -> None:
        super().__init__(config)
        self._queries: list[str] = []
        self._query_counts: dict[str, int] = {}
        self._titles: list[str] = []
        self._title_text: dict[str, str] = {}

    def fit(self, titles: Iterable[str], queries: Iterable[str] = ()) -> Self:
        counts = Counter(normalise(q) for q in queries if q and q.strip())
        self._query_counts = dict(counts)
        self._queries = sorted(counts)
        self._title_text = {}
        for title in titles:
            self._title_text.setdefault(normalise(title), " ".join(title.split()))
        self._titles = sorted(self._title_text)
        return self

    @staticmethod
    def _prefixed(sorted_texts: list[str], prefix: str, limit: int) -> list[str]:
        start = bisect.bisect_left(sorted_texts, prefix)
        found: list[str] = []
        for text in sorted_texts[start:]:
            if not text.startswith(prefix) or len(found) >= limit:
                break
            found.append(text)
        return found

    def suggest(self, prefix: str, n: int = 8) -> list[str]:
        typed = normalise(prefix)
        if not typed:
            return []
        queries = self._prefixed(self._queries, typed, 500)
        queries.sort(key=lambda q: (-self._query_counts[q], q))
        found = queries[:n]
        if len(found) < n:
            seen = set(found)
            for title in self._prefixed(self._titles, typed, n):
                if title not in seen and len(found) < n:
                    found.append(self._title_text[title])
        return found

    def forget_state(self, subject: Subject) -> Forgotten:
        """Take the subject's searches out of the query counts, exactly: a query only they typed is no
        longer suggested. (Searches the quality gate kept out of training were never counted: a count stops
        at zero.)"""
        removed = 0
        for query, count in Counter(normalise(q) for q in subject.queries() if q.strip()).items():
            held = self._query_counts.get(query)
            if held is None:
                continue
            removed += min(count, held)
            if held > count:
                self._query_counts[query] = held - count
            else:
                del self._query_counts[query]
        self._queries = sorted(self._query_counts)
        return Forgotten(removed=removed)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"queries": self._query_counts, "titles": list(self._title_text.values())}, {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.fit(values["titles"])
        self._query_counts = {str(query): int(count) for query, count in values["queries"].items()}
        self._queries = sorted(self._query_counts)
