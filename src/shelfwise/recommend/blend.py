"""The sequential transformer blended with co-occurrence: the engine's default "for you" scorer.

The transformer reads the order of the latest items; co-occurrence remembers which items follow which over
the whole log, including pairs too rare for the transformer to learn. Both become distributions over the
catalog (softmax of the logits; co-occurrence scores divided by their sum) and are mixed as
(1 - w) * transformer + w * co-occurrence, with w and the softmax temperature picked on validation.
A learned re-ranker (`recommend.rerank`) then re-orders the top candidates when it clearly beats the mix on
validation cases it did not train on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.components import Component, load_part, load_required_part
from shelfwise.metrics import leave_one_out_at_k, target_ranks
from shelfwise.recommend.base import ScoringComponent
from shelfwise.recommend.cooccurrence import CoOccurrence
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.rerank import (
    CUTOFF,
    CandidateReranker,
    CandidateSignals,
    ItemSide,
    RerankCase,
    RerankConfig,
    case_ndcg_at_10,
    clearly_better,
    rerank_cases,
)
from shelfwise.recommend.sequential import SequentialRecommender, Validation


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
    min_gain_standard_errors: float = Field(
        default=2.0,
        ge=0,
        description="A mix is chosen over co-occurrence alone only when its validation NDCG@10 gain exceeds "
        "this many standard errors of the paired difference.",
    )
    rerank: RerankConfig = Field(default_factory=RerankConfig, description="The learned second stage.")


@dataclass(frozen=True)
class TuningInputs:
    """Co-occurrence and item counts fitted without the validation targets.

    The engine serves a co-occurrence model fitted on every event, validation targets included; tuning on
    it would reward co-occurrence for pairs it was shown. Evaluation fits on the training split only and
    needs none of this."""

    cooccurrence: CoOccurrence
    counts: np.ndarray  # interactions per item


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


class SequentialBlend(ScoringComponent[BlendConfig]):
    """(1 - w) * softmax(transformer) + w * normalised co-occurrence, w chosen on validation NDCG@10, then
    the learned re-ranker over the top candidates where validation says it helps.

    With `fit_components=False` the two models must already be fitted (on the same data): only w and the
    re-ranker are tuned, which lets an evaluation report the transformer, co-occurrence and their blend from
    one training run.

    A pipeline: its parts, the transformer, co-occurrence and the re-ranker, are saved each in its own
    subdirectory beside the tuned config. With `shared_cooccurrence` the co-occurrence model belongs to an
    owner that saves it itself (`RecommendationModels`, whose other kinds read the same model): the blend
    then leaves it out of its save, and the owner hands it back after loading.
    """

    kind: ClassVar[str] = "sasrec+co-occurrence"
    config_type: ClassVar[type[BlendConfig]] = BlendConfig
    accepts_validation: bool = True

    def __init__(
        self,
        sequential: SequentialRecommender | None = None,
        cooccurrence: CoOccurrence | None = None,
        config: BlendConfig | None = None,
        *,
        fit_components: bool = True,
        shared_cooccurrence: bool = False,
    ) -> None:
        super().__init__(config)
        self.sequential = sequential if sequential is not None else SequentialRecommender()
        self.cooccurrence = cooccurrence if cooccurrence is not None else CoOccurrence()
        self.fit_components = fit_components
        self.shared_cooccurrence = shared_cooccurrence
        self.reranker: CandidateReranker | None = None
        self._items: ItemSide | None = None
        self._item_counts: np.ndarray | None = None
        self.validation_ndcg: dict[str, float] = {}

    def fit(
        self,
        data: Interactions,
        item_text_embeddings: np.ndarray | None = None,
        validation: Validation | None = None,
        tuning: TuningInputs | None = None,
    ) -> Self:
        """`tuning` replaces co-occurrence and the item counts while tuning, when the served ones have seen
        the validation targets (see TuningInputs)."""
        if self.fit_components:
            self.cooccurrence.fit(data)
            self.sequential.fit(data, item_text_embeddings=item_text_embeddings, validation=validation)
        self._item_counts = np.bincount(data.item_idx, minlength=data.n_items)
        self._items = None
        self.reranker = None
        if validation is not None and len(validation[1]) >= self.config.min_validation_cases:
            cooccurrence = tuning.cooccurrence if tuning is not None else self.cooccurrence
            counts = tuning.counts if tuning is not None else self._item_counts
            self._tune(validation, cooccurrence)
            if self.config.rerank.enabled and len(validation[1]) >= self.config.rerank.min_cases:
                self._train_reranker(validation, cooccurrence, counts)
        return self

    def _tune(self, validation: Validation, cooccurrence_model: CoOccurrence, batch: int = 1024) -> None:
        histories, targets = validation
        grid = [(w, t) for t in self.config.candidate_temperatures for w in self.config.candidate_weights]
        ranks: dict[tuple[float, float], list[np.ndarray]] = {key: [] for key in grid}
        for start in range(0, len(targets), batch):
            chunk = list(histories[start : start + batch])
            chunk_targets = np.asarray(targets[start : start + batch])
            logits = self.sequential.score_batch(chunk).astype(np.float32)
            cooccurrence = share_rows(cooccurrence_model.score_batch(chunk).astype(np.float32))
            for temperature in self.config.candidate_temperatures:
                sequential = softmax_rows(logits / temperature)
                for weight in self.config.candidate_weights:
                    mixed = np.asarray((1 - weight) * sequential + weight * cooccurrence, dtype=np.float32)
                    found = target_ranks(mixed, chunk_targets, chunk)
                    ranks[(weight, temperature)].append(found)
        case_ndcg = {key: leave_one_out_at_k(np.concatenate(r), CUTOFF).ndcg for key, r in ranks.items()}
        scored = {key: float(np.mean(values)) for key, values in case_ndcg.items()}
        # Ties keep the earlier (lower-weight) candidate.
        weight, temperature = max(scored, key=lambda key: scored[key])
        self.validation_ndcg = {f"w={w:g} T={t:g}": value for (w, t), value in scored.items()}
        alone = (1.0, temperature)
        if weight < 1.0 and alone in ranks:
            # The best of 40 mixes on a few hundred cases is partly luck: co-occurrence alone (the engine's
            # model without a transformer) serves unless the mix beats it by clear evidence.
            mixed_ndcg, alone_ndcg = case_ndcg[(weight, temperature)], case_ndcg[alone]
            better, error = clearly_better(mixed_ndcg, alone_ndcg, self.config.min_gain_standard_errors)
            self.validation_ndcg["standard error of the mix's gain over co-occurrence"] = error
            if not better:
                weight = 1.0
        self.config = self.config.model_copy(
            update={"cooccurrence_weight": weight, "temperature": temperature}
        )

    def _train_reranker(
        self, validation: Validation, cooccurrence: CoOccurrence, counts: np.ndarray, batch: int = 1024
    ) -> None:
        """Fits the re-ranker on part of the validation cases; keeps it if it clearly beats the mix on the
        rest (see `clearly_better`)."""
        config = self.config.rerank
        histories, targets = validation
        items = ItemSide.of(self.sequential.text_embeddings(), counts)
        cases: list[RerankCase] = []
        baselines: list[np.ndarray] = []
        # A second scoring pass over validation (the first was `_tune`'s): keeping every case's full logits
        # between the two would take about a gigabyte on Amazon Beauty.
        for start in range(0, len(targets), batch):
            chunk = list(histories[start : start + batch])
            signals = self.signals(chunk, cooccurrence)
            found = rerank_cases(signals, chunk, items, config, np.asarray(targets[start : start + batch]))
            cases.extend(found)
            baselines.extend(signals.blend[row, case.candidates] for row, case in enumerate(found))
        order = np.random.default_rng(config.seed).permutation(len(cases))
        cut = int(len(cases) * (1 - config.holdout_share))
        train, held = order[:cut], order[cut:]
        held_cases = [cases[i] for i in held]
        try:
            reranker = CandidateReranker(config).fit([cases[i] for i in train], held_cases)
        except ValueError:
            return  # no training case has its target among the candidates: keep the linear blend
        learned = case_ndcg_at_10([reranker.predict(c.features) for c in held_cases], held_cases)
        linear = case_ndcg_at_10([baselines[i] for i in held], held_cases)
        better, error = clearly_better(learned, linear, config.min_gain_standard_errors)
        self.validation_ndcg.update(
            {
                "held-out part, linear": float(linear.mean()),
                "held-out part, re-ranked": float(learned.mean()),
                "held-out part, standard error of the gain": error,
            }
        )
        if better:
            self.reranker = reranker

    def signals(
        self, histories: Sequence[np.ndarray], cooccurrence: CoOccurrence | None = None
    ) -> CandidateSignals:
        """What the first stage says about every item: transformer logits, co-occurrence shares, the mix."""
        cooccurrence = cooccurrence if cooccurrence is not None else self.cooccurrence
        logits = self.sequential.score_batch(histories).astype(np.float32)
        shares = share_rows(cooccurrence.score_batch(histories).astype(np.float32))
        weight = self.config.cooccurrence_weight
        blend = (1 - weight) * softmax_rows(logits / self.config.temperature) + weight * shares
        return CandidateSignals(logits, shares, blend.astype(np.float32))

    @property
    def item_side(self) -> ItemSide:
        if self._items is None:
            counts = self._item_counts
            if counts is None:
                counts = np.zeros(self.n_items, dtype=np.int64)
            self._items = ItemSide.of(self.sequential.text_embeddings(), counts)
        return self._items

    @property
    def n_items(self) -> int:
        return self.sequential.n_items

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """The mix over every item; with a re-ranker, its candidates score 1 + probability, above every
        other item (the mix sums to 1 per history, so no other item reaches 1)."""
        signals = self.signals(histories, self.cooccurrence)
        if self.reranker is None:
            return signals.blend
        cases = rerank_cases(signals, histories, self.item_side, self.config.rerank)
        scores = signals.blend.copy()
        if cases:
            predicted = self.reranker.predict(np.vstack([case.features for case in cases]))
            bounds = np.cumsum([0, *(len(case.candidates) for case in cases)])
            for row, case in enumerate(cases):
                scores[row, case.candidates] = 1.0 + predicted[bounds[row] : bounds[row + 1]]
        return scores

    # persistence ----------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: BlendConfig) -> Self:
        return cls(config=config)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        # The item counts feed the re-ranker's popularity feature.
        counts = self._item_counts
        return {}, {} if counts is None else {"item_counts": np.asarray(counts, dtype=np.int64)}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self._item_counts = arrays.get("item_counts")
        self._items = None

    def parts(self) -> Mapping[str, Component[Any] | None]:
        return {
            "sequential": self.sequential,
            "cooccurrence": None if self.shared_cooccurrence else self.cooccurrence,
            "reranker": self.reranker,
        }

    def restore_parts(self, directory: Path, saved: Sequence[str]) -> None:
        self.sequential = load_required_part(directory, "sequential", SequentialRecommender, saved)
        cooccurrence = load_part(directory, "cooccurrence", CoOccurrence, saved)
        # Saved without it: its owner sets `cooccurrence` after loading (see the class docstring).
        self.shared_cooccurrence = cooccurrence is None
        if cooccurrence is not None:
            self.cooccurrence = cooccurrence
        self.reranker = load_part(directory, "reranker", CandidateReranker, saved)
