"""Synonyms a merchandiser edits: a plain text file, one rule per line, read again whenever it changes.

The format is the one Solr and Elasticsearch users already know:

    # comments and blank lines are ignored
    sofa, couch, settee          every word or phrase of the line stands for every other
    tv => television, telly      one way: a query for "tv" also searches the right-hand side

Synonyms widen the lexical query only (BM25 also matches the other words of the group); the dense side
already reads meaning, and the learned ranker still decides the order. A line that cannot be read is an
error naming the file and the line number, and the file in force stays as it was.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shelfwise.text.analysis import normalise, words

logger = logging.getLogger(__name__)

SYNONYMS_FILE = "synonyms.txt"
_ONE_WAY = "=>"


class SynonymError(ValueError):
    """A synonym line that cannot be read; says where."""


class SynonymRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    terms: tuple[str, ...] = Field(min_length=1, description="What the query must contain (any of them).")
    expansions: tuple[str, ...] = Field(min_length=1, description="What is searched as well.")
    two_way: bool = True

    def line(self) -> str:
        if self.two_way:
            return ", ".join(self.terms)
        return f"{', '.join(self.terms)} {_ONE_WAY} {', '.join(self.expansions)}"


class SynonymSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: tuple[SynonymRule, ...] = ()

    @classmethod
    def parse(cls, text: str, source: str = "synonyms") -> SynonymSet:
        return cls(rules=tuple(rule for rule in _parse_lines(text, source) if rule is not None))

    @classmethod
    def of_groups(cls, groups: Iterable[Iterable[str]]) -> SynonymSet:
        """Two-way groups, as in SearchConfig.synonyms."""
        rules = []
        for group in groups:
            phrases = tuple(normalise(word) for word in group if normalise(word))
            if len(phrases) > 1:
                rules.append(SynonymRule(terms=phrases, expansions=phrases))
        return cls(rules=tuple(rules))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def merged(self, other: SynonymSet) -> SynonymSet:
        return SynonymSet(rules=self.rules + other.rules)

    def text(self) -> str:
        return "".join(rule.line() + "\n" for rule in self.rules)

    def expand(self, query: str) -> list[str]:
        """The phrases to search besides `query`: each rule whose term occurs in it as whole words adds
        the phrases the query does not already contain, in rule order, without repeats."""
        typed = words(query, "whitespace")
        extra: list[str] = []
        for rule in self.rules:
            if not any(_has_phrase(typed, words(term, "whitespace")) for term in rule.terms):
                continue
            for phrase in rule.expansions:
                if phrase not in extra and not _has_phrase(typed, words(phrase, "whitespace")):
                    extra.append(phrase)
        return extra


def _has_phrase(words: list[str], phrase: list[str]) -> bool:
    return bool(phrase) and any(
        words[i : i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1)
    )


def _phrases(part: str, source: str, number: int) -> tuple[str, ...]:
    phrases = tuple(normalise(p) for p in part.split(","))
    if any(not p for p in phrases):
        raise SynonymError(f"{source} line {number}: an empty word between commas in {part.strip()!r}")
    return phrases


def _parse_lines(text: str, source: str) -> list[SynonymRule | None]:
    rules: list[SynonymRule | None] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        if line.count(_ONE_WAY) > 1:
            raise SynonymError(f"{source} line {number}: more than one '=>' in {raw.strip()!r}")
        if _ONE_WAY in line:
            left, right = line.split(_ONE_WAY)
            terms, expansions = _phrases(left, source, number), _phrases(right, source, number)
            rules.append(SynonymRule(terms=terms, expansions=expansions, two_way=False))
            continue
        phrases = _phrases(line, source, number)
        if len(phrases) < 2:
            raise SynonymError(
                f"{source} line {number}: {raw.strip()!r} names one word; a group needs two or more "
                "separated by commas, or 'word => other' for one direction"
            )
        rules.append(SynonymRule(terms=phrases, expansions=phrases))
    return rules


class SynonymStore:
    """`synonyms.txt` under the data directory, re-read when its modification time changes, so an edit
    by hand, through the API or from another process takes effect on the next search."""

    def __init__(self, directory: str | Path) -> None:
        self.path = Path(directory) / SYNONYMS_FILE
        self._lock = threading.Lock()
        self._cached: tuple[float, SynonymSet] | None = None
        self.error: str | None = None

    def load(self) -> SynonymSet:
        """The synonyms in force. A file broken by a hand edit does not break search: the last good set
        stays in force (none, if there never was one) and `error` says which line is wrong."""
        with self._lock:
            if not self.path.exists():
                self.error = None
                return SynonymSet()
            mtime = self.path.stat().st_mtime
            if self._cached is None or self._cached[0] != mtime:
                last_good = self._cached[1] if self._cached is not None else SynonymSet()
                try:
                    parsed = SynonymSet.parse(self.path.read_text(encoding="utf-8"), source=str(self.path))
                    self.error = None
                except SynonymError as error:
                    logger.error("synonyms not reloaded: %s", error)
                    parsed, self.error = last_good, str(error)
                self._cached = (mtime, parsed)
            return self._cached[1]

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else ""

    def replace(self, text: str) -> SynonymSet:
        """Check `text` first (nothing is written when a line is wrong), then swap the file atomically."""
        parsed = SynonymSet.parse(text, source="the new synonyms")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            scratch = self.path.with_suffix(".tmp")
            scratch.write_text(text if text.endswith("\n") or not text else text + "\n", encoding="utf-8")
            scratch.replace(self.path)
            self._cached = None
        return parsed
