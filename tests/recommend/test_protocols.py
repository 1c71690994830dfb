"""Leave-one-out split and full-ranking ranks, checked by hand on toy data."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

import numpy as np
import polars as pl
import pytest

from shelfwise.evaluation.protocols import LeaveOneOutMetrics, evaluate_split, leave_one_out
from shelfwise.recommend.base import rank_targets
from shelfwise.recommend.interactions import Interactions, Vocabulary


def toy_interactions() -> Interactions:
    """u1: a b c d, u2: a b (too short to evaluate), u3: c a b; rows deliberately out of time order."""
    rows = [
        ("u1", "d", 4),
        ("u2", "a", 1),
        ("u1", "a", 1),
        ("u3", "c", 1),
        ("u1", "c", 3),
        ("u3", "b", 3),
        ("u1", "b", 2),
        ("u2", "b", 2),
        ("u3", "a", 2),
    ]
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "position"], orient="row")
    vocabulary = Vocabulary.of(["a", "b", "c", "d", "e"])
    return Interactions.from_frame(frame, item="item_id", time="position", items=vocabulary)


def names(data: Interactions, indices: np.ndarray) -> list[str]:
    return [data.items.ids[i] for i in indices.tolist()]


def test_leave_one_out_holds_out_the_last_two_items_of_users_with_three_or_more() -> None:
    data = toy_interactions()
    split = leave_one_out(data)

    assert [data.users.ids[u] for u in split.users] == ["u1", "u3"]
    assert names(data, split.valid_targets) == ["c", "a"]
    assert names(data, split.test_targets) == ["d", "b"]
    assert [names(data, h) for h in split.valid_histories] == [["a", "b"], ["c"]]
    assert [names(data, h) for h in split.test_histories] == [["a", "b", "c"], ["c", "a"]]

    train = split.train
    assert train.items is data.items and train.users is data.users
    per_user = {data.users.ids[u]: names(data, seq) for u, seq in enumerate(train.sequences())}
    assert per_user == {"u1": ["a", "b"], "u2": ["a", "b"], "u3": ["c"]}
    with_valid = {
        data.users.ids[u]: names(data, seq) for u, seq in enumerate(split.train_with_valid.sequences())
    }
    assert with_valid == {"u1": ["a", "b", "c"], "u2": ["a", "b"], "u3": ["c", "a"]}


def test_leave_one_out_of_users_all_too_short_evaluates_nobody() -> None:
    frame = pl.DataFrame({"user_id": ["u1", "u1", "u2"], "item_id": ["a", "b", "a"], "position": [0, 1, 0]})
    split = leave_one_out(Interactions.from_frame(frame, item="item_id", time="position"))
    assert len(split) == 0
    assert len(split.train) == 3


class FixedScorer:
    """Returns the same given scores for every history."""

    name = "fixed"

    def __init__(self, scores: Sequence[float]) -> None:
        self.scores = np.asarray(scores, dtype=np.float32)

    def fit(self, data: Interactions) -> Self:
        return self

    def score(self, history: np.ndarray) -> np.ndarray:
        return self.scores.copy()


def ranks(
    scores: Sequence[float],
    histories: list[list[int]],
    targets: list[int],
    *,
    exclude_history: bool = True,
    batch: int = 1024,
) -> list[int]:
    arrays = [np.array(h, dtype=np.int32) for h in histories]
    result = rank_targets(
        FixedScorer(scores), arrays, np.array(targets), exclude_history=exclude_history, batch=batch
    )
    return [int(r) for r in result]


def test_history_items_are_excluded_from_the_ranking() -> None:
    scores = [5, 4, 3, 2, 1]
    assert ranks(scores, [[0]], [2]) == [1]
    assert ranks(scores, [[0]], [2], exclude_history=False) == [2]
    assert ranks(scores, [[0, 1]], [4]) == [2]


def test_the_target_is_never_excluded_even_when_in_the_history() -> None:
    assert ranks([5, 4, 3, 2, 1], [[2, 0]], [2]) == [1]


def test_ties_are_counted_against_the_target() -> None:
    assert ranks([1, 3, 3, 3, 0], [[]], [2]) == [2]
    assert ranks([1, 3, 3, 3, 0], [[]], [1]) == [2]
    # A scorer that says nothing gets the worst rank, not the best.
    assert ranks([0, 0, 0, 0, 0], [[]], [3]) == [4]
    assert ranks([0, 0, 0, 0, 0], [[1]], [3]) == [3]


def test_batching_does_not_change_ranks() -> None:
    rng = np.random.default_rng(3)
    scores = rng.normal(size=50).round(1).tolist()  # rounded so that ties occur
    histories = [rng.choice(50, size=rng.integers(0, 6), replace=False).tolist() for _ in range(40)]
    targets = rng.integers(0, 50, size=40).tolist()
    whole = ranks(scores, histories, targets)
    one_by_one = [ranks(scores, [h], [t])[0] for h, t in zip(histories, targets, strict=True)]
    assert whole == one_by_one == ranks(scores, histories, targets, batch=7)


def test_bad_scores_and_inputs_fail_clearly() -> None:
    with pytest.raises(ValueError, match="NaN"):
        ranks([1.0, float("nan"), 0.0], [[]], [0])
    with pytest.raises(ValueError, match="2 histories but 1 targets"):
        ranks([1.0, 2.0], [[], []], [0])
    with pytest.raises(ValueError, match="outside the 2 items"):
        ranks([1.0, 2.0], [[]], [5])


def test_metrics_from_ranks_match_hand_computation() -> None:
    metrics = LeaveOneOutMetrics.from_ranks(np.array([0, 9, 10, 1]))
    assert metrics.users == 4
    assert metrics.hr_at_10 == pytest.approx(3 / 4)
    assert metrics.ndcg_at_10 == pytest.approx((1 + 1 / math.log2(11) + 0 + 1 / math.log2(3)) / 4)
    assert metrics.mrr == pytest.approx((1 + 1 / 10 + 1 / 11 + 1 / 2) / 4)


def test_evaluate_split_uses_validation_or_test_targets() -> None:
    data = toy_interactions()
    split = leave_one_out(data)
    # Scores favour d above everything: a test target for u1, never a validation target.
    scorer = FixedScorer([1, 2, 3, 9, 0])
    assert evaluate_split(scorer, split, on="test").mrr == pytest.approx((1 + 1 / 2) / 2)
    # valid: u1 target c (history a b): only d is higher; u3 target a (history c): d, b higher.
    assert evaluate_split(scorer, split, on="valid").mrr == pytest.approx((1 / 2 + 1 / 3) / 2)
    with pytest.raises(ValueError, match="'valid' or 'test'"):
        evaluate_split(scorer, split, on="train")
