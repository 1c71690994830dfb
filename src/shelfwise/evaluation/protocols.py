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
The ranks come from `recommend.base.rank_targets` and the per-case figures from `shelfwise.metrics`, which
models tune on too; this module is the protocol around them: the split and the means reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.metrics import leave_one_out_at_k
from shelfwise.recommend.base import ItemScorer, rank_targets
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
        cases = leave_one_out_at_k(ranks, CUTOFF)
        return cls(
            users=len(ranks),
            hr_at_10=float(np.mean(cases.hit)),
            ndcg_at_10=float(np.mean(cases.ndcg)),
            mrr=float(np.mean(1.0 / (np.asarray(ranks, dtype=np.float64) + 1.0))),
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
