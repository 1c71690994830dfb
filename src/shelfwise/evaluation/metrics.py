"""Ranking metrics. Each takes a ranked list of ids and the relevant ids (with gains where graded).

Checked in tests against hand-computed values. NDCG uses the exponential gain 2^g - 1 and log2 discounts,
as in trec_eval's ndcg_cut and the Home Depot / TREC literature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypeVar

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
    """Leave-one-out hit: 1 when the held-out item's 0-based rank is within the top k."""
    return 1.0 if rank < k else 0.0


def ndcg_single_at_k(rank: int, k: int) -> float:
    """Leave-one-out NDCG with one relevant item at 0-based `rank`."""
    return 1.0 / math.log2(rank + 2) if rank < k else 0.0
