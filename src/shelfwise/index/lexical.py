"""Fielded BM25 over the catalog: one bm25s index per product field, fused by a weighted sum.

Each field keeps its own BM25 statistics (a brand word is rare among brands even if it is common in
descriptions), and the query is scored exactly: every field's full score vector is summed with numpy before
the top k is taken, so fusion never misses a document that was below one field's own top k. Filters are a
mask applied before the top k, so a filtered page is as full as the matches allow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

import bm25s
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.domain import Product
from shelfwise.io.components import Component, ComponentFormatError
from shelfwise.text.analysis import BM25_TOKEN_PATTERN, Analyzer, CjkAnalysis, StopwordLanguage

FIELD_NAMES: tuple[str, ...] = ("title", "brand", "category", "description")

_FIELD_TEXT: dict[str, Callable[[Product], str]] = {
    "title": lambda p: p.title,
    "brand": lambda p: p.brand or "",
    "category": lambda p: p.category or "",
    "description": lambda p: p.description or "",
}


class FieldWeights(BaseModel):
    """How much a BM25 point in each field is worth; 0 leaves the field out of the index."""

    model_config = ConfigDict(extra="forbid")

    title: float = Field(default=3.0, ge=0)
    brand: float = Field(default=2.0, ge=0)
    category: float = Field(default=1.5, ge=0)
    description: float = Field(default=1.0, ge=0)

    def of(self, name: str) -> float:
        return float(getattr(self, name))


class LexicalIndexConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: FieldWeights = Field(default_factory=FieldWeights)
    stemmer_language: str | None = Field(default="english", description="A PyStemmer language, or None.")
    stopwords: StopwordLanguage | list[str] | None = "en"
    # Digit runs and letter runs apart (see shelfwise.text.analysis). On Home Depot titles this beats
    # bm25s's default (words of two or more characters) by about 0.02 NDCG@10, as does the lower k1 and b
    # that suit short fields such as titles (tuned on half the queries, checked on the other half).
    token_pattern: str = BM25_TOKEN_PATTERN
    k1: float = Field(default=0.9, gt=0)
    b: float = Field(default=0.6, ge=0, le=1)
    method: Literal["lucene", "robertson", "atire"] = "lucene"
    # Chinese has no spaces: a run of Han characters is cut into words (see shelfwise.text.analysis).
    # On 4,987 Chinese product titles jieba's words plus character pairs beat words, pairs or characters
    # alone (bench/search_chinese.py).
    cjk_analysis: CjkAnalysis = "jieba_bigram"
    cjk_index_subwords: bool = Field(
        default=True,
        description="Index the dictionary words inside long Chinese words too (jieba's search mode), so "
        "a query for 运动 finds 运动鞋; queries stay in precise mode.",
    )

    def analyzer(self) -> Analyzer:
        """The analyzer these options describe, shared by the index's documents and queries."""
        return Analyzer(
            token_pattern=self.token_pattern,
            stopwords=self.stopwords,
            stemmer_language=self.stemmer_language,
            cjk_analysis=self.cjk_analysis,
            cjk_subwords=self.cjk_index_subwords,
        )


@dataclass(frozen=True)
class FieldMatch:
    """One field of one hit: its weighted BM25 contribution and the query words it matched, with theirs."""

    field: str
    contribution: float
    terms: dict[str, float]


@dataclass(frozen=True)
class LexicalMatches:
    """A page of hits. `positions` index the product list the index was fitted on."""

    positions: np.ndarray  # int64, best first
    scores: np.ndarray  # float32, fused weighted BM25
    field_matches: list[list[FieldMatch]]  # per hit, best field first
    total: int  # documents matching at least one query term, after the mask
    matched: np.ndarray = field(repr=False)  # bool over all documents: the `total` ones

    def __len__(self) -> int:
        return len(self.positions)


@dataclass(frozen=True)
class _Posting:
    field: str
    word: str
    weight: float
    documents: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class _Scored:
    fused: np.ndarray
    matched: np.ndarray
    postings: list[_Posting]


ScoredQuery = _Scored
Posting = _Posting


class LexicalIndex(Component[LexicalIndexConfig]):
    """A component: bm25s writes each field's index in its own format (a subdirectory per field) through
    the native hooks; the manifest keeps the document count and which fields have an index."""

    kind = "lexical_index"
    holds_user_data = False  # the catalog's text alone
    config_type = LexicalIndexConfig

    def __init__(self, config: LexicalIndexConfig | None = None) -> None:
        super().__init__(config)
        self.analyzer = self.config.analyzer()
        self._fields: dict[str, bm25s.BM25] = {}
        self._n_documents: int | None = None
        self._saved_fields: list[str] = []

    @property
    def n_documents(self) -> int:
        if self._n_documents is None:
            raise RuntimeError("the lexical index is not fitted: call fit(products) or load(directory) first")
        return self._n_documents

    @property
    def fields(self) -> list[str]:
        """The fields that have an index: a positive weight and at least one term in some product."""
        return list(self._fields)

    def fit(self, products: Sequence[Product]) -> Self:
        self._fields = {}
        for name in FIELD_NAMES:
            if self.config.weights.of(name) == 0:
                continue
            corpus = [self.analyzer.analyze(_FIELD_TEXT[name](p), document=True) for p in products]
            if not any(corpus):
                continue  # e.g. a catalog without brands: nothing to index, nothing to match
            retriever = bm25s.BM25(k1=self.config.k1, b=self.config.b, method=self.config.method)
            retriever.index(corpus, show_progress=False)
            self._fields[name] = retriever
        self._n_documents = len(products)
        return self

    def search(self, query: str, k: int, mask: np.ndarray | None = None, offset: int = 0) -> LexicalMatches:
        """Hits ranked offset..offset+k among the documents that pass `mask` and match a query term.

        Ties are broken by position, so consecutive pages never overlap nor skip a document.
        """
        if k < 0 or offset < 0:
            raise ValueError(f"k ({k}) and offset ({offset}) must be >= 0")
        scored = self._score(query, mask)
        candidates = np.flatnonzero(scored.matched)
        scores = scored.fused[candidates]
        wanted = offset + k
        if 0 < wanted < len(candidates):
            # Keep every document tied with the wanted-th score, so the tie-break below sees all of them.
            threshold = np.partition(scores, len(scores) - wanted)[len(scores) - wanted]
            keep = scores >= threshold
            candidates, scores = candidates[keep], scores[keep]
        order = np.lexsort((candidates, -scores))[offset:wanted]
        positions = candidates[order].astype(np.int64)
        return LexicalMatches(
            positions=positions,
            scores=scores[order],
            field_matches=self._field_matches(positions, scored.postings),
            total=int(np.count_nonzero(scored.matched)),
            matched=scored.matched,
        )

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """The fused score of every document (0 where nothing matched or the mask excludes it)."""
        scored = self._score(query, mask)
        return np.where(scored.matched, scored.fused, np.float32(0))

    def scored(self, query: str, mask: np.ndarray | None = None) -> ScoredQuery:
        """Every document's fused score, which matched, and the postings behind them (for features)."""
        return self._score(query, mask)

    def matches_for(self, positions: np.ndarray, scored: ScoredQuery) -> list[list[FieldMatch]]:
        """Per-field explanations of the given documents under an already scored query."""
        return self._field_matches(positions, scored.postings)

    def _score(self, query: str, mask: np.ndarray | None) -> _Scored:
        n = self.n_documents
        if mask is not None and (mask.shape != (n,) or mask.dtype != np.bool_):
            raise ValueError(f"mask must be a bool array of shape ({n},), got {mask.dtype} {mask.shape}")
        words = self.analyzer.words(query)
        terms = self.analyzer.terms(words)
        # One entry per distinct term, quoted as the first word that produced it.
        word_of: dict[str, str] = {}
        for term, word in zip(terms, words, strict=True):
            word_of.setdefault(term, word)
        fused = np.zeros(n, dtype=np.float32)
        matched = np.zeros(n, dtype=bool)
        postings: list[_Posting] = []
        for name, retriever in self._fields.items():
            weight = self.config.weights.of(name)
            csc = retriever.scores
            for term, word in word_of.items():
                token_id = retriever.vocab_dict.get(term)
                if token_id is None:
                    continue
                start, end = int(csc["indptr"][token_id]), int(csc["indptr"][token_id + 1])
                documents = csc["indices"][start:end]
                term_scores = csc["data"][start:end]
                # A column lists each document once, so fancy-index += is exact here.
                fused[documents] += weight * term_scores
                matched[documents] = True
                postings.append(_Posting(name, word, weight, documents, term_scores))
        if mask is not None:
            matched &= mask
        return _Scored(fused=fused, matched=matched, postings=postings)

    def _field_matches(self, positions: np.ndarray, postings: list[_Posting]) -> list[list[FieldMatch]]:
        rank_of = np.full(self.n_documents, -1, dtype=np.int64)
        rank_of[positions] = np.arange(len(positions))
        per_hit: list[dict[str, dict[str, float]]] = [{} for _ in positions]
        for posting in postings:
            ranks = rank_of[posting.documents]
            found = ranks >= 0
            for rank, score in zip(ranks[found], posting.scores[found], strict=True):
                terms = per_hit[int(rank)].setdefault(posting.field, {})
                terms[posting.word] = float(posting.weight * score)
        return [
            sorted(
                (FieldMatch(name, sum(terms.values()), terms) for name, terms in hit.items()),
                key=lambda m: -m.contribution,
            )
            for hit in per_hit
        ]

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"n_documents": self.n_documents, "fields": self.fields}, {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self._n_documents = int(values["n_documents"])
        self._saved_fields = [str(name) for name in values["fields"]]

    def save_native(self, directory: Path) -> None:
        for name, retriever in self._fields.items():
            retriever.save(str(directory / name), show_progress=False)

    def load_native(self, directory: Path) -> None:
        self._fields = {}
        for name in self._saved_fields:
            if not (directory / name).is_dir():
                raise ComponentFormatError(f"{directory}: the {name!r} field's BM25 index is missing")
            retriever = bm25s.BM25.load(str(directory / name), show_progress=False)
            if int(retriever.scores["num_docs"]) != self.n_documents:
                raise ComponentFormatError(
                    f"{directory / name} indexes {retriever.scores['num_docs']} documents, "
                    f"expected {self.n_documents}"
                )
            self._fields[name] = retriever
