"""Autocomplete: popular past queries first, then product titles, by prefix, in well under a millisecond."""

from __future__ import annotations

import bisect
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Self

from shelfwise.text.analysis import normalise

_FILE = "suggest.json"


class Suggester:
    def __init__(self) -> None:
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

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        payload = {"queries": self._query_counts, "titles": list(self._title_text.values())}
        (path / _FILE).write_text(json.dumps(payload), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Suggester:
        payload = json.loads((Path(directory) / _FILE).read_text(encoding="utf-8"))
        suggester = cls().fit(payload["titles"])
        suggester._query_counts = {str(k): int(v) for k, v in payload["queries"].items()}
        suggester._queries = sorted(suggester._query_counts)
        return suggester
