"""Ranking metrics against values worked out by hand."""

import math

import numpy as np
import pytest

from shelfwise.metrics import (
    dcg,
    hit_rate_at_k,
    leave_one_out_at_k,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
    target_ranks,
)


def test_dcg_uses_exponential_gain_and_log2_discount() -> None:
    # (2^2-1)/log2(2) + (2^1-1)/log2(3) + (2^0-1)/log2(4)
    assert dcg([2.0, 1.0, 0.0]) == pytest.approx(3.0 + 1.0 / math.log2(3))


def test_ndcg_graded_with_ideal_over_all_judged_items() -> None:
    gains = {"a": 2.0, "b": 1.0, "c": 1.0, "d": 0.0}
    ranked = ["b", "x", "a"]
    actual = 1.0 + 3.0 / 2.0  # b at rank 1 (gain 1), a at rank 3 (gain 3, discount log2(4)=2)
    ideal = 3.0 + 1.0 / math.log2(3) + 1.0 / 2.0  # a, b, c: c is judged though never retrieved
    assert ndcg_at_k(ranked, gains, 3) == pytest.approx(actual / ideal)


def test_ndcg_cuts_both_ranking_and_ideal_at_k() -> None:
    gains = {"a": 2.0, "b": 1.0}
    assert ndcg_at_k(["b", "a"], gains, 1) == pytest.approx(1.0 / 3.0)
    assert ndcg_at_k(["a", "b"], gains, 2) == pytest.approx(1.0)


def test_ndcg_is_zero_without_positive_gains() -> None:
    assert ndcg_at_k(["a"], {"a": 0.0}, 10) == 0.0


def test_fractional_gains_follow_the_same_formula() -> None:
    gains = {"a": 1.5, "b": 0.5}
    expected = (2**0.5 - 1) / ((2**1.5 - 1) + (2**0.5 - 1) / math.log2(3))
    assert ndcg_at_k(["b"], gains, 10) == pytest.approx(expected)


def test_recall_counts_positive_gains_only() -> None:
    relevant = {"a": 1.0, "b": 2.0, "c": 0.0, "d": 1.0}
    assert recall_at_k(["c", "a", "x", "b"], relevant, 4) == pytest.approx(2 / 3)
    assert recall_at_k(["c", "a", "x", "b"], relevant, 2) == pytest.approx(1 / 3)
    assert recall_at_k(["a"], {"a": 0.0}, 5) == 0.0


def test_mrr_is_reciprocal_rank_of_first_positive_within_k() -> None:
    relevant = {"a": 0.0, "b": 1.0}
    assert mrr_at_k(["a", "x", "b"], relevant, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(["a", "x", "b"], relevant, 2) == 0.0
    assert mrr_at_k(["b"], relevant, 1) == 1.0


def test_leave_one_out_helpers_use_zero_based_rank() -> None:
    assert hit_rate_at_k(0, 10) == 1.0
    assert hit_rate_at_k(9, 10) == 1.0
    assert hit_rate_at_k(10, 10) == 0.0
    cases = leave_one_out_at_k(np.array([0, 2, 9, 10, 10**9]), 10)
    np.testing.assert_allclose(cases.ndcg, [1.0, 0.5, 1.0 / math.log2(11), 0.0, 0.0])
    np.testing.assert_array_equal(cases.hit, [1.0, 1.0, 1.0, 0.0, 0.0])
    assert leave_one_out_at_k([], 10).ndcg.shape == (0,)


def test_target_ranks_are_pessimistic_on_ties_and_skip_excluded_items() -> None:
    scores = np.array([[0.5, 0.9, 0.5, 0.1], [1.0, 1.0, 1.0, 1.0]], dtype=np.float32)
    # Row 0: one item above the target and one tied with it; row 1: everything tied, so the worst rank.
    np.testing.assert_array_equal(target_ranks(scores, np.array([0, 2])), [2, 3])
    # Excluding item 1 (above) and the target itself (kept): only the tie remains above it.
    excluded = target_ranks(scores, np.array([0, 2]), [np.array([1, 0]), np.array([0, 1, 3])])
    np.testing.assert_array_equal(excluded, [1, 0])
    assert scores[0, 1] == np.float32(0.9)  # the caller's scores are left as they were
    with pytest.raises(ValueError, match="outside the 4 items"):
        target_ranks(scores, np.array([0, 4]))
