"""The contract every recommender model meets, so that evaluation and the engine treat them alike."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Protocol, Self, runtime_checkable

import numpy as np

from shelfwise.io.components import Component, ConfigT
from shelfwise.io.forgetting import Forgotten
from shelfwise.metrics import target_ranks
from shelfwise.recommend.interactions import Interactions


@runtime_checkable
class ItemScorer(Protocol):
    """Scores every item for a user given the user's history (item indices, oldest first)."""

    @property
    def name(self) -> str:
        """What evaluation reports the scorer as."""
        ...

    def fit(self, data: Interactions) -> Self: ...

    def score(self, history: np.ndarray) -> np.ndarray:
        """float32 scores of shape (n_items,); higher is better. History items are not masked here."""
        ...


def _check_scores(scores: np.ndarray, expected_rows: int, scorer: ItemScorer) -> None:
    if scores.ndim != 2 or scores.shape[0] != expected_rows:
        raise ValueError(
            f"scorer {scorer.name!r} returned scores of shape {scores.shape}, not ({expected_rows}, n_items)"
        )
    if np.isnan(scores).any():
        raise ValueError(f"scorer {scorer.name!r} returned NaN scores; ranks would be meaningless")


def rank_targets(
    scorer: ItemScorer,
    histories: Sequence[np.ndarray],
    targets: np.ndarray,
    *,
    exclude_history: bool = True,
    batch: int = 1024,
) -> np.ndarray:
    """0-based rank of each target among all items, pessimistic on ties (`shelfwise.metrics.target_ranks`).

    With `exclude_history` the history's items are left out of the ranking, except the target itself when
    it is one of them (`evaluation.protocols` states why); models validate with this ranking too."""
    targets = np.asarray(targets, dtype=np.int64)
    if len(histories) != len(targets):
        raise ValueError(
            f"{len(histories)} histories but {len(targets)} targets: need one target per history"
        )
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    ranks = np.empty(len(targets), dtype=np.int64)
    for start in range(0, len(targets), batch):
        chunk = slice(start, start + batch)
        ranks[chunk] = _rank_chunk(scorer, histories[chunk], targets[chunk], exclude_history)
    return ranks


def _rank_chunk(
    scorer: ItemScorer, histories: Sequence[np.ndarray], targets: np.ndarray, exclude_history: bool
) -> np.ndarray:
    # target_ranks masks the history in a copy, never in an array the model may keep.
    scores = np.asarray(score_batch(scorer, histories), dtype=np.float32)
    _check_scores(scores, len(targets), scorer)
    return target_ranks(scores, targets, histories if exclude_history else None)


def score_batch(scorer: ItemScorer, histories: Sequence[np.ndarray]) -> np.ndarray:
    """Scores for many users at once; models with a faster batched path expose `score_batch` themselves."""
    batched = getattr(scorer, "score_batch", None)
    if batched is not None:
        result: np.ndarray = batched(histories)
        return result
    return np.stack([scorer.score(history) for history in histories])


class ScoringComponent(Component[ConfigT], ABC):
    """A fitted model that scores every item for a history, saved in the one component format.

    Each model implements one scoring method, `score_batch`; `score` is its one-history case, and
    evaluation reports the model by its `kind`."""

    @property
    def name(self) -> str:
        return self.kind

    @abstractmethod
    def score_batch(self, histories: Sequence[np.ndarray]) -> np.ndarray:
        """float32 scores of shape (len(histories), n_items); higher is better; histories not masked."""

    def score(self, history: np.ndarray) -> np.ndarray:
        return self.score_batch([history])[0]

    def forget_interactions(self, data: Interactions) -> Forgotten:
        """Remove one shopper's interactions (`data`, over this model's items, as training built them)
        from what the model learned. Default: nothing to do without any; else a retrain, since learned
        weights cannot give one shopper back. Models whose state is counts override it."""
        return Forgotten(retrain=[self.kind]) if len(data) else Forgotten()
