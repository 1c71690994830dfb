"""Ranking metrics, numpy only: the bottom layer that search, recommendation and evaluation all score with.

Graded metrics take a ranked list of ids and the judged ids with their gains. NDCG uses the exponential
gain 2^g - 1 and log2 discounts, as in trec_eval's ndcg_cut and the Home Depot / TREC literature.

Leave-one-out metrics (one relevant item per case) start from the target's 0-based rank, computed by
`target_ranks` with pessimistic ties: #(items scoring higher) + #(other items scoring the same). That count
gives a model that scores everything alike the worst rank, not the best. Checked in tests against
hand-computed values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple, TypeVar

import numpy as np

K = TypeVar("K")


def dcg(gains: Sequence[float]) -> float:
    return sum((2.0**g - 1.0) / math.log2(rank + 2) for rank, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[K], gains: Mapping[K, float], k: int) -> float:
    """Graded NDCG@k; the ideal ranking is taken over all judged items, not only retrieved ones."""
    ideal = dcg(sorted((g for g in gains.values() if g > 0), reverse=True)[:k])
    if ideal == 0.0:
        return 0.0
    return dcg([gains.get(item, 0.0) for item in ranked[:k]]) / ideal


def recall_at_k(ranked: Sequence[K], relevant: Mapping[K, float], k: int) -> float:
    """Share of the items with a positive gain found in the top k."""
    positives = {item for item, g in relevant.items() if g > 0}
    if not positives:
        return 0.0
    return len(positives.intersection(ranked[:k])) / len(positives)


def mrr_at_k(ranked: Sequence[K], relevant: Mapping[K, float], k: int) -> float:
    """Reciprocal rank of the first item with a positive gain within the top k."""
    for rank, item in enumerate(ranked[:k]):
        if relevant.get(item, 0.0) > 0:
            return 1.0 / (rank + 1)
    return 0.0


def hit_rate_at_k(rank: int, k: int) -> float:
    """Leave-one-out hit of one case: 1 when the held-out item's 0-based rank is within the top k."""
    return 1.0 if rank < k else 0.0


class LeaveOneOutCases(NamedTuple):
    """Per-case leave-one-out figures (float64, one entry per case)."""

    ndcg: np.ndarray  # 1 / log2(rank + 2) within the top k, else 0
    hit: np.ndarray  # 1 within the top k, else 0


def leave_one_out_at_k(ranks: np.ndarray | Sequence[int], k: int) -> LeaveOneOutCases:
    """NDCG@k and HR@k of each case with one relevant item at 0-based `ranks[i]` (a missed target can be
    given any rank >= k)."""
    ranks = np.asarray(ranks, dtype=np.int64)
    within = ranks < k
    # Ranks past k would only be discarded: clipping them keeps log2 away from huge sentinels.
    discounts = 1.0 / np.log2(np.minimum(ranks, k).astype(np.float64) + 2)
    return LeaveOneOutCases(np.where(within, discounts, 0.0), within.astype(np.float64))


def target_ranks(
    scores: np.ndarray, targets: np.ndarray, exclude: Sequence[np.ndarray] | None = None
) -> np.ndarray:
    """0-based rank of each row's target column among that row's scores, pessimistic on ties.

    `exclude[i]`, when given, lists columns of row i set to -inf first (a user's history), except the
    target itself when it is listed. `scores` is left as it is; int64 ranks come back.
    """
    targets = np.asarray(targets, dtype=np.int64)
    if scores.ndim != 2 or scores.shape[0] != len(targets):
        raise ValueError(f"scores of shape {scores.shape} for {len(targets)} targets: need one row each")
    if targets.size and (targets.min() < 0 or targets.max() >= scores.shape[1]):
        raise ValueError(f"a target lies outside the {scores.shape[1]} items the scores rank")
    rows = np.arange(len(targets))
    target_scores = scores[rows, targets]
    if exclude is not None:
        if len(exclude) != len(targets):
            raise ValueError(f"{len(exclude)} exclusion lists for {len(targets)} targets: need one each")
        scores = scores.copy()
        lengths = [len(e) for e in exclude]
        excluded = np.concatenate(exclude).astype(np.int64) if len(exclude) else np.zeros(0, np.int64)
        scores[np.repeat(rows, lengths), excluded] = -np.inf
        scores[rows, targets] = target_scores
    column = target_scores[:, None]
    higher = (scores > column).sum(axis=1)
    tied_others = (scores == column).sum(axis=1) - 1
    ranks: np.ndarray = (higher + tied_others).astype(np.int64)
    return ranks
