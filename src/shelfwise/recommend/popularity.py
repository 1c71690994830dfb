"""Popularity scorers: all-time counts, and time-decayed counts for the "trending" kind.

Both ignore the user's history, which makes them the floor every personalised model must beat and the
fallback for users with no history at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.forgetting import Forgotten
from shelfwise.recommend.base import ScoringComponent
from shelfwise.recommend.interactions import Interactions

SECONDS_PER_DAY = 86_400.0


def top_positions(scores: np.ndarray, n: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Positions of the `n` highest positive scores (where `mask` is true), best first; ties by position.

    Items scoring zero are left out, so fewer than `n` positions come back when few items have evidence.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if mask is not None and mask.shape != scores.shape:
        raise ValueError(f"mask has shape {mask.shape}, expected {scores.shape} (one entry per item)")
    eligible = scores > 0 if mask is None else (scores > 0) & mask.astype(bool)
    candidates = np.flatnonzero(eligible)
    # A stable sort on the negated scores keeps the lower position first among equal scores.
    order = np.argsort(-scores[candidates], kind="stable")
    return candidates[order[:n]].astype(np.int64)


class PopularityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    use_weights: bool = Field(
        default=True, description="Sum interaction weights (a purchase outweighs a view) instead of counts."
    )


class TrendingPopularityConfig(PopularityConfig):
    half_life_days: float = Field(default=7.0, gt=0, description="Age at which an interaction counts half.")
    now: float | None = Field(
        default=None, description="Reference time in epoch seconds; default the latest time in the data."
    )


class Popularity(ScoringComponent[PopularityConfig]):
    """Scores every item by how often it was interacted with, whatever the user's history."""

    kind: ClassVar[str] = "popularity"
    config_type: ClassVar[type[PopularityConfig]] = PopularityConfig

    def __init__(self, config: PopularityConfig | None = None) -> None:
        super().__init__(config)
        self._scores: np.ndarray | None = None

    def _interaction_weights(self, data: Interactions) -> np.ndarray:
        return data.weights if self.config.use_weights else np.ones(len(data), np.float32)

    def fit(self, data: Interactions) -> Self:
        self._scores = self._counts(data)
        return self

    def _counts(self, data: Interactions) -> np.ndarray:
        weights = self._interaction_weights(data).astype(np.float64)
        return np.bincount(data.item_idx, weights=weights, minlength=data.n_items).astype(np.float32)

    def forget_interactions(self, data: Interactions) -> Forgotten:
        """Subtract the shopper's interactions from the counts: exact, since a count is a sum over them
        (one the quality gate kept out of training stops the count at zero)."""
        if not len(data):
            return Forgotten()
        self._scores = np.maximum(self.item_scores - self._counts(data), 0.0).astype(np.float32)
        return Forgotten(removed=len(data))

    @property
    def item_scores(self) -> np.ndarray:
        if self._scores is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit() or load() first")
        return self._scores

    @property
    def n_items(self) -> int:
        return len(self.item_scores)

    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        return np.tile(self.item_scores, (len(histories), 1))

    def top(self, n: int, mask: np.ndarray | None = None) -> np.ndarray:
        """The `n` most popular item positions (within `mask`), best first."""
        return top_positions(self.item_scores, n, mask)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {}, {"scores": self.item_scores}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self._scores = arrays["scores"].astype(np.float32)


class TrendingPopularity(Popularity):
    """Popularity where an interaction's weight halves every `half_life_days` before `now`."""

    kind: ClassVar[str] = "trending"
    config_type: ClassVar[type[PopularityConfig]] = TrendingPopularityConfig

    def __init__(self, config: TrendingPopularityConfig | None = None) -> None:
        super().__init__(config)
        self._now: float | None = None  # the reference time the decay ran to, kept to subtract a shopper

    @property
    def trending_config(self) -> TrendingPopularityConfig:
        assert isinstance(self.config, TrendingPopularityConfig)
        return self.config

    def fit(self, data: Interactions) -> Self:
        config = self.trending_config
        if len(data) == 0:
            self._scores = np.zeros(data.n_items, np.float32)
            return self
        self._now = float(data.times.max()) if config.now is None else config.now
        self._scores = self._counts(data)
        return self

    def _counts(self, data: Interactions) -> np.ndarray:
        if self._now is None:
            raise RuntimeError("trending counts need the reference time `now`: fit first")
        # Interactions stamped after `now` count as fresh rather than more than fully.
        age_days = np.maximum(self._now - data.times, 0.0) / SECONDS_PER_DAY
        decay = np.exp2(-age_days / self.trending_config.half_life_days)
        weights = self._interaction_weights(data).astype(np.float64) * decay
        return np.bincount(data.item_idx, weights=weights, minlength=data.n_items).astype(np.float32)

    def forget_interactions(self, data: Interactions) -> Forgotten:
        """Subtract the shopper's decayed interactions, against the reference time of training; a version
        saved without that time cannot, and asks for a retrain. (Had their event been the latest, a
        retrain would date `now` earlier: every score a constant factor higher, the ranking the same.)"""
        if len(data) and self._now is None:
            return Forgotten(retrain=[self.kind])
        return super().forget_interactions(data)

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        values, arrays = super().state()
        return {**values, "now": self._now}, arrays

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        super().restore(values, arrays)
        now = values.get("now")
        self._now = None if now is None else float(now)
