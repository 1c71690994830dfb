"""Leave-one-out figures on segments of the test cases: long-tail targets and cold-start users.

A model can win on average by recommending popular items well; these segments show how it does where
popularity does not help: test targets with few training interactions, and users with short histories.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel

from shelfwise.evaluation.protocols import LeaveOneOutMetrics, LeaveOneOutSplit
from shelfwise.recommend.base import ItemScorer, rank_targets

LONG_TAIL_MAX = 5
SHORT_HISTORY_MAX = 5


class SegmentMetrics(BaseModel):
    segment: str
    metrics: LeaveOneOutMetrics


def segment_masks(
    split: LeaveOneOutSplit, long_tail_max: int = LONG_TAIL_MAX, short_history_max: int = SHORT_HISTORY_MAX
) -> dict[str, np.ndarray]:
    """Boolean masks over the test cases, by the target's training count and the history's length."""
    counts = np.bincount(split.train.item_idx, minlength=split.train.n_items)
    target_counts = counts[split.test_targets]
    lengths = np.array([len(h) for h in split.test_histories])
    return {
        "all": np.ones(len(split), dtype=bool),
        f"long-tail targets (<= {long_tail_max} training interactions)": target_counts <= long_tail_max,
        f"head targets (> {long_tail_max} training interactions)": target_counts > long_tail_max,
        f"short histories (<= {short_history_max} items before the test item)": lengths <= short_history_max,
    }


def evaluate_segments(
    scorer: ItemScorer, split: LeaveOneOutSplit, masks: dict[str, np.ndarray] | None = None
) -> list[SegmentMetrics]:
    """Test metrics of a fitted scorer on each segment (ranks computed once)."""
    ranks = rank_targets(scorer, split.test_histories, split.test_targets)
    chosen = segment_masks(split) if masks is None else masks
    return [
        SegmentMetrics(segment=name, metrics=LeaveOneOutMetrics.from_ranks(ranks[mask]))
        for name, mask in chosen.items()
    ]
