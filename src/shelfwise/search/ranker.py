"""A LightGBM lambdarank re-ranker over the fused candidates, trained from graded judgements or events.

Judgements (query, product, gain) train it directly. Events train it from what shoppers did after a search
(click 1, add to cart 2, purchase 3) with the position each product had, so LightGBM's position-bias
correction (unbiased lambdarank) can discount clicks that the top slots get anyway. The trees themselves
(training, early stopping, persistence, contributions) are `shelfwise.learning_to_rank`; this module holds
what is particular to search: its features, its settings and the refit on the validation queries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Self

import lightgbm as lgb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.components import MANIFEST_FILE, Component, ComponentFormatError
from shelfwise.io.forgetting import Forgotten, Subject
from shelfwise.learning_to_rank import ModelFiles, RankingGroup, TreeRanker, TreeRankerConfig
from shelfwise.search.features import FEATURE_NAMES

__all__ = ["MODEL_FILE", "LearnedRanker", "RankerConfig", "RankingGroup"]

# LightGBM's own text model, beside the component's manifest.
MODEL_FILE = "ranker.txt"


class RankerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    rerank_depth: int = Field(default=800, ge=1, description="Candidates the ranker re-orders per query.")
    # Small trees on a random 70% of the features, to generalise to queries the ranker never saw. A
    # slower rate would double the trees, which every query pays for in scoring and in explanations.
    num_leaves: int = Field(default=15, ge=2)
    # TreeSHAP explanations (`explanation="shap"`) cost time in the square of tree depth.
    max_depth: int = Field(default=5, ge=-1, description="-1: no limit (leaf-wise growth only).")
    learning_rate: float = Field(default=0.1, gt=0)
    feature_fraction: float = Field(default=0.7, gt=0, le=1)
    # Every query scores its whole pool with every tree. Early stopping alone lands on very different
    # tree counts with the seed, for the same validation quality (`bench/search_validation.py`;
    # BENCHMARKS.md, Home Depot relevance); the budget makes the cost predictable.
    num_boost_round: int = Field(
        default=100, ge=1, description="Trees at most, in the early-stopped model and in the refit."
    )
    early_stopping_rounds: int = Field(default=40, ge=1)
    stopping_depth: int = Field(
        default=100, ge=1, description="Early stopping watches NDCG at this depth on the validation queries."
    )
    refit: bool = Field(
        default=True,
        description="After early stopping, train again on training and validation queries together for "
        "as many rounds (scaled by the larger data), so no labelled query is left unused.",
    )
    min_data_in_leaf: int = Field(default=50, ge=1)
    objective: Literal["lambdarank", "rank_xendcg"] = Field(
        default="lambdarank", description="LightGBM ranking objective."
    )
    truncation_level: int = Field(
        default=100,
        ge=1,
        description="Lambdarank learns the order of pairs within this many top positions: the depth early "
        "stopping watches, and the first page of 100 that recall is counted on.",
    )
    min_queries: int = Field(default=30, ge=1, description="Fewer labelled queries than this: no ranker.")
    max_training_queries: int = Field(default=600, ge=1, description="Event-labelled queries used, at most.")
    seed: int = 7
    explanation: Literal["path", "shap"] = Field(
        default="path",
        description="How each hit's score is split among the features. `path`: the change in a tree's "
        "expected output at every split on the row's path (Saabas; XGBoost's approx_contribs), read from "
        "a table per leaf. `shap`: exact TreeSHAP, several times slower (BENCHMARKS.md gives the cost "
        "per page; `bench/search_stages.py --explanation shap`).",
    )

    def trees(self) -> TreeRankerConfig:
        """The LightGBM parameters these settings stand for."""
        return TreeRankerConfig(
            objective=self.objective,
            num_boost_round=self.num_boost_round,
            early_stopping_rounds=self.early_stopping_rounds,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            min_data_in_leaf=self.min_data_in_leaf,
            feature_fraction=self.feature_fraction,
            bagging_fraction=0.8,
            bagging_freq=1,
            ndcg_at=self.stopping_depth,
            truncation_level=self.truncation_level,
            threads=1,  # OpenMP spin-waits: on a busy 2-core machine 2 threads ran ~50x slower
            seed=self.seed,
        )


class LearnedRanker(Component[RankerConfig]):
    """A component: the trees are LightGBM's text model (the native hooks), what training found (`meta`:
    source, query counts, iterations, the feature names) the manifest's state."""

    kind = "search_ranker"
    config_type = RankerConfig

    def __init__(self, config: RankerConfig | None = None) -> None:
        super().__init__(config)
        self.model = TreeRanker(self.config.trees(), FEATURE_NAMES)
        self.meta: dict[str, Any] = {}

    def forget_state(self, subject: Subject) -> Forgotten:
        """Trees learned from shoppers' searches and what followed cannot give one back: a retrain, when
        the subject searched and the ranker learned from events (judgements are no shopper's)."""
        learned_from_them = self.meta.get("source") != "judgements" and bool(subject.queries())
        return Forgotten(retrain=[self.kind] if learned_from_them else [])

    @property
    def fitted(self) -> bool:
        return self.model.fitted

    def fit(
        self,
        train: Sequence[RankingGroup],
        validation: Sequence[RankingGroup] = (),
        source: str = "judgements",
    ) -> Self:
        useful = [g for g in train if len(g.labels) > 1 and g.labels.max() > 0]
        if len(useful) < self.config.min_queries:
            raise ValueError(
                f"{len(useful)} labelled queries with a relevant candidate; the ranker needs "
                f"at least {self.config.min_queries}"
            )
        with_positions = source == "events"
        valid = [g for g in validation if len(g.labels) > 1 and g.labels.max() > 0]
        self.model = TreeRanker(self.config.trees(), FEATURE_NAMES)
        stopped_at = self.model.fit(useful, valid, with_positions=with_positions)
        refitted = self.config.refit and bool(valid)
        if refitted:
            scaled = round(stopped_at * (len(useful) + len(valid)) / len(useful))
            rounds = max(1, min(scaled, self.config.num_boost_round))
            self.model.fit([*useful, *valid], with_positions=with_positions, rounds=rounds)
        self.meta = {
            "source": source,
            "train_queries": len(useful) + (len(valid) if refitted else 0),
            "validation_queries": len(valid),
            "early_stopping_iteration": stopped_at,
            "refitted_on_validation": refitted,
            "best_iteration": int(self.booster.current_iteration()) if refitted else stopped_at,
            "features": list(FEATURE_NAMES),
        }
        return self

    @property
    def booster(self) -> lgb.Booster:
        if not self.model.fitted:
            raise RuntimeError("the ranker is not fitted: call fit(groups) or load(directory) first")
        return self.model.booster

    @property
    def _iteration(self) -> int | None:
        iteration: int | None = self.meta.get("best_iteration") or None
        return iteration

    def predict(self, features: np.ndarray) -> np.ndarray:
        self.booster  # noqa: B018 - raises when not fitted
        return self.model.predict(features, self._iteration)

    def contributions(self, features: np.ndarray) -> np.ndarray:
        """Per-feature contributions per row (`RankerConfig.explanation`), summing to the score; the last
        column is the bias."""
        self.booster  # noqa: B018 - raises when not fitted
        return self.model.contributions(features, self.config.explanation, self._iteration)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        self.booster  # noqa: B018 - raises when not fitted
        return dict(self.meta), {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.meta = dict(values)

    def save_native(self, directory: Path) -> None:
        self.booster.save_model(str(directory / MODEL_FILE))

    def load_native(self, directory: Path) -> None:
        if self.meta.get("features") != list(FEATURE_NAMES):
            raise ComponentFormatError(
                f"{directory}: the ranker was trained on other features than this version computes"
            )
        if not (directory / MODEL_FILE).is_file():
            raise ComponentFormatError(f"no saved search ranker at {directory}: {MODEL_FILE} is missing")
        # TreeRanker reads LightGBM's file and a manifest beside it: here the component's own.
        booster, _ = TreeRanker.read(directory, ModelFiles(model=MODEL_FILE, manifest=MANIFEST_FILE))
        self.model.booster = booster
