"""Query understanding: normalise the typed text, correct its spelling, expand its synonyms, embed it.

Query embeddings are kept in a least-recently-used cache shared by every thread that serves searches.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from shelfwise.index.lexical import Analyzer
from shelfwise.search.spelling import Correction, SpellingCorrector
from shelfwise.search.synonyms import SynonymSet

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class QueryContext:
    """What retrieval needs to know about a query beyond its text."""

    text: str
    terms: list[str]  # distinct analysed terms
    vector: np.ndarray | None  # normalised query embedding, None without a dense index
    corrected: bool = False


def clean_query(query: str, max_chars: int) -> str:
    """Control characters become spaces and other invisible ones go (a soft hyphen must not split a word);
    whitespace runs collapse and the result is cut at `max_chars`."""
    visible = "".join(_visible(ch) for ch in query)
    return _SPACES.sub(" ", visible).strip()[:max_chars].rstrip()


def _visible(ch: str) -> str:
    category = unicodedata.category(ch)
    if category == "Cc":
        return " "
    return "" if category.startswith("C") else ch


def correct(text: str, speller: SpellingCorrector | None) -> Correction:
    """The spelling correction of `text` (unchanged without a speller)."""
    return speller.correct(text) if speller is not None else Correction(text=text)


def searched_text(text: str, correction: Correction) -> str:
    """The text a search runs: the corrected one when the speller changed something, else the typed one."""
    return correction.text if correction.changed else text


def understand(
    text: str,
    analyzer: Analyzer,
    speller: SpellingCorrector | None,
    synonyms: SynonymSet,
    vector_of: Callable[[str], np.ndarray | None],
) -> tuple[QueryContext, str, Correction]:
    """(what retrieval searches, the lexical text with the `synonyms` in force, the spelling correction)."""
    correction = correct(text, speller)
    searched = searched_text(text, correction)
    terms = list(dict.fromkeys(analyzer.analyze(searched)))
    context = QueryContext(
        text=searched, terms=terms, vector=vector_of(searched), corrected=correction.changed
    )
    return context, " ".join([searched, *synonyms.expand(searched)]), correction


class QueryVectorCache:
    """Query embeddings by query text, the least recently used dropped first once there are `capacity`.

    A served pipeline answers requests from several threads at once: every read and write holds a lock
    (an `OrderedDict` reordered by one thread while another evicts from it raises or loses entries), but
    encoding runs outside it, so a slow encoding never holds up a cached lookup. The capacity is passed
    with each call, so a configuration changed at run time (benchmarks switch the cache off) takes
    effect at once; 0 keeps nothing new.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._vectors)

    def __contains__(self, text: object) -> bool:
        with self._lock:
            return text in self._vectors

    def get(self, text: str) -> np.ndarray | None:
        """The cached vector of `text`, which becomes the most recently used, or None."""
        with self._lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
            return vector

    def put(self, text: str, vector: np.ndarray, capacity: int) -> None:
        with self._lock:
            self._put(text, vector, capacity)

    def vector(self, text: str, encode: Callable[[str], np.ndarray], capacity: int) -> np.ndarray:
        """The vector of `text`: cached, or encoded and then cached."""
        cached = self.get(text)
        if cached is not None:
            return cached
        vector = encode(text)  # two threads missing the same text both encode it, to the same vector
        self.put(text, vector, capacity)
        return vector

    def prime(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray], capacity: int) -> None:
        """Encode the distinct non-empty `texts` not cached yet in one batch (several times faster than
        one by one) and cache them, up to `capacity`; the cache is then trimmed to `capacity`."""
        with self._lock:
            fresh = [t for t in dict.fromkeys(texts) if t and t not in self._vectors][:capacity]
        encoded = encode(fresh) if fresh else np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            for text, vector in zip(fresh, encoded, strict=True):
                self._put(text, vector, capacity)
            self._trim(capacity)

    def _put(self, text: str, vector: np.ndarray, capacity: int) -> None:
        if capacity <= 0:
            return
        self._vectors[text] = vector
        self._vectors.move_to_end(text)
        self._trim(capacity)

    def _trim(self, capacity: int) -> None:
        while len(self._vectors) > capacity:
            self._vectors.popitem(last=False)
