"""The sequential transformer blended with co-occurrence: the engine's default "for you" scorer.

The transformer reads the order of the latest items; co-occurrence remembers which items follow which over
the whole log, including pairs too rare for the transformer to learn. Both become distributions over the
catalog (softmax of the logits; co-occurrence scores divided by their sum) and are mixed as
(1 - w) * transformer + w * co-occurrence, with w and the softmax temperature picked on validation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.recommend.cooccurrence import CoOccurrence
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.sequential import SequentialRecommender, Validation

BLEND_FILE = "blend.json"


class BlendConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cooccurrence_weight: float = Field(
        default=0.8, ge=0, le=1, description="Share of co-occurrence in the mix; tuned on validation."
    )
    min_validation_cases: int = Field(
        default=200, ge=1, description="Fewer validation cases than this keep the configured share."
    )
    temperature: float = Field(
        default=1.0, gt=0, description="Transformer logits are divided by this before the softmax; tuned."
    )
    candidate_weights: tuple[float, ...] = Field(
        default=(0.0, 0.2, 0.4, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0),
        description="Shares tried on validation.",
    )
    candidate_temperatures: tuple[float, ...] = Field(
        default=(0.5, 1.0, 2.0, 4.0), description="Softmax temperatures tried on validation."
    )


def softmax_rows(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def share_rows(scores: np.ndarray) -> np.ndarray:
    """Non-negative scores as fractions of their row's sum (rows summing to zero stay zero)."""
    positive = np.maximum(scores, 0.0)
    totals = positive.sum(axis=1, keepdims=True)
    result: np.ndarray = np.divide(positive, totals, out=np.zeros_like(positive), where=totals > 0)
    return result


class _FixedScores:
    """Pre-computed scores in the ItemScorer shape, so one scoring pass ranks every candidate weight."""

    name = "fixed"

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def fit(self, data: Interactions) -> Self:
        return self

    def score(self, history: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return self.scores


class SequentialBlend:
    """(1 - w) * softmax(transformer) + w * normalised co-occurrence, w chosen on validation NDCG@10.

    With `fit_components=False` the two models must already be fitted (on the same data): only w is tuned,
    which lets an evaluation report the transformer, co-occurrence and their blend from one training run.
    """

    name: str = "sasrec+co-occurrence"
    accepts_validation: bool = True

    def __init__(
        self,
        sequential: SequentialRecommender | None = None,
        cooccurrence: CoOccurrence | None = None,
        config: BlendConfig | None = None,
        *,
        fit_components: bool = True,
    ) -> None:
        self.sequential = sequential if sequential is not None else SequentialRecommender()
        self.cooccurrence = cooccurrence if cooccurrence is not None else CoOccurrence()
        self.config = config if config is not None else BlendConfig()
        self.fit_components = fit_components
        self.validation_ndcg: dict[str, float] = {}

    def fit(
        self,
        data: Interactions,
        item_text_embeddings: np.ndarray | None = None,
        validation: Validation | None = None,
    ) -> Self:
        if self.fit_components:
            self.cooccurrence.fit(data)
            self.sequential.fit(data, item_text_embeddings=item_text_embeddings, validation=validation)
        if validation is not None and len(validation[1]) >= self.config.min_validation_cases:
            self._tune(validation)
        return self

    def _tune(self, validation: Validation, batch: int = 1024) -> None:
        from shelfwise.evaluation.protocols import LeaveOneOutMetrics, rank_targets

        histories, targets = validation
        grid = [(w, t) for t in self.config.candidate_temperatures for w in self.config.candidate_weights]
        ranks: dict[tuple[float, float], list[np.ndarray]] = {key: [] for key in grid}
        for start in range(0, len(targets), batch):
            chunk = list(histories[start : start + batch])
            chunk_targets = np.asarray(targets[start : start + batch])
            logits = self.sequential.score_batch(chunk).astype(np.float32)
            cooccurrence = share_rows(self.cooccurrence.score_batch(chunk).astype(np.float32))
            for temperature in self.config.candidate_temperatures:
                sequential = softmax_rows(logits / temperature)
                for weight in self.config.candidate_weights:
                    mixed = _FixedScores((1 - weight) * sequential + weight * cooccurrence)
                    found = rank_targets(mixed, chunk, chunk_targets, batch=len(chunk))
                    ranks[(weight, temperature)].append(found)
        scored = {
            key: LeaveOneOutMetrics.from_ranks(np.concatenate(r)).ndcg_at_10 for key, r in ranks.items()
        }
        # Ties keep the earlier (lower-weight) candidate.
        weight, temperature = max(scored, key=lambda key: scored[key])
        self.validation_ndcg = {f"w={w:g} T={t:g}": value for (w, t), value in scored.items()}
        self.config = self.config.model_copy(
            update={"cooccurrence_weight": weight, "temperature": temperature}
        )

    def _parts(self, histories: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        logits = self.sequential.score_batch(histories).astype(np.float32)
        sequential = softmax_rows(logits / self.config.temperature)
        cooccurrence = share_rows(self.cooccurrence.score_batch(histories).astype(np.float32))
        return sequential, cooccurrence

    @property
    def n_items(self) -> int:
        return self.sequential.n_items

    def score(self, history: np.ndarray) -> np.ndarray:
        return self.score_batch([history])[0]

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        weight = self.config.cooccurrence_weight
        sequential, cooccurrence = self._parts(histories)
        return ((1 - weight) * sequential + weight * cooccurrence).astype(np.float32)

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / BLEND_FILE).write_text(self.config.model_dump_json(indent=2) + "\n", encoding="utf-8")
        self.sequential.save(directory / "sequential")
        self.cooccurrence.save(directory / "cooccurrence")

    @classmethod
    def load(cls, directory: Path) -> Self:
        path = directory / BLEND_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no saved blend at {directory}: {BLEND_FILE} is missing")
        config = BlendConfig.model_validate_json(path.read_text(encoding="utf-8"))
        return cls(
            SequentialRecommender.load(directory / "sequential"),
            CoOccurrence.load(directory / "cooccurrence"),
            config,
        )
