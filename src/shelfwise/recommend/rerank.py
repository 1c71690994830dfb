"""A learned second stage over the "for you" candidates: LightGBM reads why each candidate came up.

The linear blend trusts the transformer and co-occurrence in the same proportion for every shopper and
item. Which to trust depends on the case: co-occurrence knows well-travelled pairs, the transformer knows
order and reaches the long tail, and an item whose title is close to what the shopper just looked at is a
likely next step whatever either model says. The re-ranker takes the union of the blend's, the transformer's
and co-occurrence's top items and scores each from those signals, trained on held-out next items (the
validation targets). It is kept only when it clearly beats the linear blend (by two standard errors) on a
part of them it did not train on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.components import MANIFEST_FILE, Component, ComponentFormatError
from shelfwise.learning_to_rank import ModelFiles, RankingGroup, TreeRanker, TreeRankerConfig
from shelfwise.metrics import leave_one_out_at_k, target_ranks

RERANK_FEATURES: tuple[str, ...] = (
    "transformer_logit",
    "transformer_gap_to_best",
    "transformer_rank",
    "cooccurrence",
    "cooccurrence_rank",
    "popularity",
    "history_length",
    "text_cosine_last",
    "text_cosine_recent",
)
CUTOFF = 10  # validation and the keep-or-drop decision compare NDCG@10
MODEL_FILE = "reranker.txt"  # LightGBM's own text model, beside the component's manifest


class RerankConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(default=True, description="Train the re-ranker when validation allows.")
    blend_candidates: int = Field(default=200, ge=1, description="Top items of the linear blend re-ranked.")
    transformer_candidates: int = Field(default=100, ge=0, description="Top transformer items added.")
    cooccurrence_candidates: int = Field(default=50, ge=0, description="Top co-occurrence items added.")
    recent_items: int = Field(default=5, ge=1, description="Latest history items the text features compare.")
    min_cases: int = Field(
        default=500, ge=10, description="Fewer validation cases than this keep the linear blend."
    )
    holdout_share: float = Field(
        default=0.2, gt=0, lt=1, description="Validation cases kept out of training to stop and to judge it."
    )
    min_gain_standard_errors: float = Field(
        default=2.0,
        ge=0,
        description="Kept only when its NDCG@10 gain over the mix on the held-out cases exceeds this many "
        "standard errors of the paired difference.",
    )
    num_leaves: int = Field(default=31, ge=2)
    learning_rate: float = Field(default=0.05, gt=0)
    min_data_in_leaf: int = Field(default=100, ge=1)
    max_rounds: int = Field(default=1000, ge=1)
    early_stopping_rounds: int = Field(default=50, ge=1)
    threads: int = Field(default=2, ge=1, description="LightGBM threads while training.")
    seed: int = 7

    def trees(self) -> TreeRankerConfig:
        """The LightGBM parameters these settings stand for."""
        return TreeRankerConfig(
            objective="binary",
            num_boost_round=self.max_rounds,
            early_stopping_rounds=self.early_stopping_rounds,
            num_leaves=self.num_leaves,
            learning_rate=self.learning_rate,
            min_data_in_leaf=self.min_data_in_leaf,
            threads=self.threads,
            seed=self.seed,
            deterministic=True,
        )


@dataclass(frozen=True)
class CandidateSignals:
    """What the first stage says about every item for a batch of histories (rows: histories)."""

    logits: np.ndarray  # transformer logits, float32 (batch, n_items)
    cooccurrence: np.ndarray  # co-occurrence shares, float32 (batch, n_items)
    blend: np.ndarray  # the linear blend, float32 (batch, n_items)


@dataclass(frozen=True)
class ItemSide:
    """Per-item inputs of the features: unit text vectors (None without text) and log1p counts."""

    text: np.ndarray | None  # float32 (n_items, dim), rows of unit length (zero where no text)
    popularity: np.ndarray  # float32 (n_items,)

    @classmethod
    def of(cls, text_embeddings: np.ndarray | None, counts: np.ndarray) -> ItemSide:
        text = None
        if text_embeddings is not None:
            norms = np.linalg.norm(text_embeddings, axis=1, keepdims=True)
            text = np.divide(
                text_embeddings, norms, out=np.zeros_like(text_embeddings), where=norms > 0
            ).astype(np.float32)
        return cls(text, np.log1p(counts.astype(np.float32)))


def candidates_of(
    signals: CandidateSignals, row: int, history: np.ndarray, config: RerankConfig
) -> np.ndarray:
    """Sorted item indices: the union of each source's top items, the history's own items left out."""
    tops = []
    for scores, k in (
        (signals.blend[row], config.blend_candidates),
        (signals.logits[row], config.transformer_candidates),
        (signals.cooccurrence[row], config.cooccurrence_candidates),
    ):
        masked = scores.astype(np.float32, copy=True)
        masked[history] = -np.inf
        k = min(k, int(np.isfinite(masked).sum()))
        if k > 0:
            tops.append(np.argpartition(-masked, k - 1)[:k])
    if not tops:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate(tops)).astype(np.int64)


def _rank_within(values: np.ndarray) -> np.ndarray:
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[np.argsort(-values, kind="stable")] = np.arange(len(values), dtype=np.float32)
    return ranks


def candidate_features(
    signals: CandidateSignals,
    row: int,
    history: np.ndarray,
    candidates: np.ndarray,
    items: ItemSide,
    config: RerankConfig,
) -> np.ndarray:
    """float32 (len(candidates), len(RERANK_FEATURES)): one row per candidate, in RERANK_FEATURES order."""
    logits = signals.logits[row, candidates]
    cooccurrence = signals.cooccurrence[row, candidates]
    count = len(candidates)
    if items.text is not None and len(history):
        vectors = items.text[candidates]
        recent = items.text[np.asarray(history[-config.recent_items :], dtype=np.int64)]
        similarities = vectors @ recent.T
        cosine_last, cosine_recent = similarities[:, -1], similarities.max(axis=1)
    else:
        cosine_last = cosine_recent = np.full(count, np.nan, dtype=np.float32)
    return np.column_stack(
        [
            logits,
            logits - float(signals.logits[row].max()),
            _rank_within(logits),
            cooccurrence,
            _rank_within(cooccurrence),
            items.popularity[candidates],
            np.full(count, np.log1p(len(history)), dtype=np.float32),
            cosine_last,
            cosine_recent,
        ]
    ).astype(np.float32)


@dataclass(frozen=True)
class RerankCase:
    """One history's candidates and their features (and, for training, which one came next)."""

    candidates: np.ndarray
    features: np.ndarray
    label: np.ndarray | None = None


def rerank_cases(
    signals: CandidateSignals,
    histories: Sequence[np.ndarray],
    items: ItemSide,
    config: RerankConfig,
    targets: np.ndarray | None = None,
) -> list[RerankCase]:
    cases = []
    for row, history in enumerate(histories):
        history = np.asarray(history, dtype=np.int64)
        candidates = candidates_of(signals, row, history, config)
        features = candidate_features(signals, row, history, candidates, items, config)
        label = (candidates == targets[row]).astype(np.int8) if targets is not None else None
        cases.append(RerankCase(candidates, features, label))
    return cases


def case_ndcg_at_10(scores: Sequence[np.ndarray], cases: Sequence[RerankCase]) -> np.ndarray:
    """Leave-one-out NDCG@10 of each case's candidate scores; a target outside the candidates is a miss."""
    ranks = np.full(len(cases), CUTOFF, dtype=np.int64)  # a miss
    for i, (score, case) in enumerate(zip(scores, cases, strict=True)):
        assert case.label is not None
        hits = np.flatnonzero(case.label)
        if len(hits):
            ranks[i] = target_ranks(np.asarray(score)[None, :], hits[:1])[0]
    return leave_one_out_at_k(ranks, CUTOFF).ndcg


def ndcg_at_10(scores: Sequence[np.ndarray], cases: Sequence[RerankCase]) -> float:
    return float(case_ndcg_at_10(scores, cases).mean()) if cases else 0.0


def clearly_better(learned: np.ndarray, linear: np.ndarray, standard_errors: float) -> tuple[bool, float]:
    """(whether the paired per-case gain is above `standard_errors` times its standard error, that error).

    A few hundred validation cases make NDCG noisy: the standard error of the gain can be as large as
    the gains a re-ranker brings (BENCHMARKS.md, MovieLens-100k, reports it for that data set)."""
    gain = learned - linear
    error = float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else float("inf")
    return bool(gain.mean() > standard_errors * error), error


class CandidateReranker(Component[RerankConfig]):
    """LightGBM (binary: is this the next item?) over the candidates' RERANK_FEATURES; `predict` scores."""

    kind: ClassVar[str] = "reranker"
    config_type: ClassVar[type[RerankConfig]] = RerankConfig

    def __init__(self, config: RerankConfig | None = None) -> None:
        super().__init__(config)
        self.model = TreeRanker(self.config.trees(), RERANK_FEATURES)
        self.meta: dict[str, int] = {}

    @property
    def fitted(self) -> bool:
        return self.model.fitted

    def fit(self, train: Sequence[RerankCase], stop: Sequence[RerankCase]) -> Self:
        """Trains on `train`, stops early on `stop`; cases whose target is not a candidate teach nothing."""
        self.model = TreeRanker(self.config.trees(), RERANK_FEATURES)
        rounds = self.model.fit(_groups(train), _groups(stop))
        self.meta = {"rounds": rounds}
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        if not self.model.fitted:
            raise RuntimeError("the re-ranker is not trained")
        return self.model.predict(features, self.meta.get("rounds"))

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if not self.model.fitted:
            raise RuntimeError("the re-ranker is not trained; nothing to save")
        return dict(self.meta), {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.meta = {key: int(value) for key, value in values.items()}

    def save_native(self, directory: Path) -> None:
        self.model.booster.save_model(str(directory / MODEL_FILE))

    def load_native(self, directory: Path) -> None:
        if not (directory / MODEL_FILE).is_file():
            raise ComponentFormatError(f"no saved re-ranker at {directory}: {MODEL_FILE} is missing")
        # TreeRanker reads LightGBM's file and a manifest beside it: here the component's own.
        booster, _ = TreeRanker.read(directory, ModelFiles(model=MODEL_FILE, manifest=MANIFEST_FILE))
        self.model.booster = booster


def _groups(cases: Sequence[RerankCase]) -> list[RankingGroup]:
    useful = [RankingGroup(c.features, c.label) for c in cases if c.label is not None and c.label.any()]
    if not useful:
        raise ValueError("no validation case has its next item among the candidates; nothing to learn")
    return useful
