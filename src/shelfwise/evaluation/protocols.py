"""Leave-one-out with full ranking: the standard protocol for sequential recommendation.

For every user with at least three interactions the last item is the test target and the one before it the
validation target; models train on everything earlier. Each target is ranked among ALL items (no sampled
negatives: sampled figures are not comparable with full ranking), with the user's history items excluded.

Choices, stated once:
- History exclusion: items in the user's history are set to -inf before ranking, except the target itself
  when it also occurs in the history. This follows RecBole and S3-Rec; in 5-core Amazon data repeats are
  rare, so the choice barely moves the figures, and it never makes a target unreachable.
- Ties: a target's 0-based rank is #(items scoring higher) + #(other items scoring the same). This
  pessimistic count gives a model that scores everything alike the worst rank, not the best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.evaluation.metrics import hit_rate_at_k, ndcg_single_at_k
from shelfwise.recommend.base import ItemScorer, score_batch
from shelfwise.recommend.interactions import Interactions

MIN_INTERACTIONS = 3
CUTOFF = 10


@dataclass(frozen=True)
class LeaveOneOutSplit:
    """Training data and the validation / test cases of a leave-one-out split.

    `valid_histories[u]` is the evaluated user's training sequence; `test_histories[u]` adds the validation
    item. Both are item indices, oldest first, in the vocabulary of `train`. `train_with_valid` is
    everything but the test targets, for protocols that refit before testing.
    """

    train: Interactions
    train_with_valid: Interactions
    users: np.ndarray  # int32 user indices of the evaluated users
    valid_histories: list[np.ndarray]
    valid_targets: np.ndarray  # int32
    test_histories: list[np.ndarray]
    test_targets: np.ndarray  # int32

    def __len__(self) -> int:
        return len(self.users)


def leave_one_out(data: Interactions) -> LeaveOneOutSplit:
    """Holds out each evaluated user's last item (test) and the one before it (validation)."""
    counts = np.bincount(data.user_idx, minlength=data.n_users)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(data)) - starts[data.user_idx]
    from_end = counts[data.user_idx] - position  # 1: the user's last interaction
    evaluated = counts >= MIN_INTERACTIONS
    is_test = evaluated[data.user_idx] & (from_end == 1)
    is_valid = evaluated[data.user_idx] & (from_end == 2)
    train, train_with_valid = data.subset(~(is_test | is_valid)), data.subset(~is_test)

    users = np.flatnonzero(evaluated).astype(np.int32)
    last = starts[users] + counts[users] - 1
    valid_targets = data.item_idx[last - 1].astype(np.int32)
    test_targets = data.item_idx[last].astype(np.int32)
    valid_histories = [data.item_idx[starts[u] : starts[u] + counts[u] - 2] for u in users]
    test_histories = [data.item_idx[starts[u] : starts[u] + counts[u] - 1] for u in users]
    return LeaveOneOutSplit(
        train, train_with_valid, users, valid_histories, valid_targets, test_histories, test_targets
    )


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
    """0-based rank of each target among all items (pessimistic on ties; see the module docstring)."""
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
    # A copy: the history mask below must not write into an array the model may keep.
    scores = np.array(score_batch(scorer, histories), dtype=np.float32)
    _check_scores(scores, len(targets), scorer)
    if targets.size and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError(f"a target item index lies outside the {scores.shape[1]} items the scorer ranks")
    rows = np.arange(len(targets))
    target_scores = scores[rows, targets]
    if exclude_history:
        lengths = [len(h) for h in histories]
        history_items = np.concatenate(histories).astype(np.int64) if histories else np.zeros(0, np.int64)
        scores[np.repeat(rows, lengths), history_items] = -np.inf
        scores[rows, targets] = target_scores
    column = target_scores[:, None]
    higher = (scores > column).sum(axis=1)
    tied_others = (scores == column).sum(axis=1) - 1
    result: np.ndarray = higher + tied_others
    return result


class LeaveOneOutMetrics(BaseModel):
    """Means over the evaluated users of HR@10, NDCG@10 and (uncut) MRR."""

    model_config = ConfigDict(frozen=True)

    users: int = Field(ge=0)
    hr_at_10: float
    ndcg_at_10: float
    mrr: float | None = None

    @classmethod
    def from_ranks(cls, ranks: np.ndarray) -> LeaveOneOutMetrics:
        if len(ranks) == 0:
            return cls(users=0, hr_at_10=0.0, ndcg_at_10=0.0, mrr=None)
        as_ints = [int(r) for r in ranks]
        return cls(
            users=len(as_ints),
            hr_at_10=float(np.mean([hit_rate_at_k(r, CUTOFF) for r in as_ints])),
            ndcg_at_10=float(np.mean([ndcg_single_at_k(r, CUTOFF) for r in as_ints])),
            mrr=float(np.mean(1.0 / (np.asarray(as_ints, dtype=np.float64) + 1.0))),
        )


def evaluate_split(
    scorer: ItemScorer, split: LeaveOneOutSplit, *, on: str = "test", batch: int = 1024
) -> LeaveOneOutMetrics:
    """Metrics of an already fitted scorer on the validation ('valid') or test ('test') targets."""
    if on == "test":
        histories, targets = split.test_histories, split.test_targets
    elif on == "valid":
        histories, targets = split.valid_histories, split.valid_targets
    else:
        raise ValueError(f"on must be 'valid' or 'test', got {on!r}")
    return LeaveOneOutMetrics.from_ranks(rank_targets(scorer, histories, targets, batch=batch))
