"""The uplift metrics against values worked out by hand from scikit-uplift's definitions."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.audiences.qini import perfect_qini_curve, qini_coefficient, qini_curve, uplift_at_k

# Six customers, ranked by uplift: treated responder, control non-responder, treated non-responder,
# control responder, treated responder, control non-responder.
OUTCOME = np.array([1, 0, 0, 1, 1, 0])
TREATED = np.array([1, 0, 1, 0, 1, 0])
UPLIFT = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_qini_curve_counts_extra_responders_over_the_control_rate() -> None:
    curve = qini_curve(OUTCOME, UPLIFT, TREATED)
    assert curve.customers.tolist() == [0, 1, 2, 3, 4, 5, 6]
    # n=1: 1 treated responder, no control yet -> 1; n=2: 1 - 0*1/1 = 1; n=3: 1 - 0 = 1;
    # n=4: 1 - 1*2/2 = 0; n=5: 2 - 1*3/2 = 0.5; n=6: 2 - 1*3/3 = 1.
    assert curve.gain.tolist() == pytest.approx([0, 1, 1, 1, 0, 0.5, 1])


def test_tied_scores_are_targeted_together() -> None:
    curve = qini_curve(OUTCOME, np.ones(6), TREATED)
    assert curve.customers.tolist() == [0, 6]
    assert curve.gain.tolist() == pytest.approx([0, 1])


def test_qini_coefficient_is_the_area_over_random_relative_to_the_perfect_curve() -> None:
    perfect = perfect_qini_curve(OUTCOME, TREATED)
    # Perfect order: treated responders (2), then the rest tied at 0, then the control responder last.
    assert perfect.customers.tolist() == [0, 2, 5, 6]
    assert perfect.gain.tolist() == pytest.approx([0, 2, 2, 1])
    # Areas: actual 0.5+1+1+0.5+0.25+0.75 = 4.0; perfect 2+6+1.5 = 9.5; random 6*1/2 = 3.
    assert qini_coefficient(OUTCOME, UPLIFT, TREATED) == pytest.approx((4.0 - 3) / (9.5 - 3))
    assert qini_coefficient(OUTCOME, OUTCOME * TREATED - OUTCOME * (1 - TREATED), TREATED) == pytest.approx(1)


def test_uplift_at_k_compares_the_top_of_each_group() -> None:
    # Top half of the treated (3 -> 1): responder; top half of the control (3 -> 1): non-responder.
    assert uplift_at_k(OUTCOME, UPLIFT, TREATED, k=0.5) == pytest.approx(1.0)
    # Reversed order: the top treated is a responder (0.5), the top control a non-responder (0.4).
    assert uplift_at_k(OUTCOME, -UPLIFT, TREATED, k=0.5) == pytest.approx(1.0)
    # int(3 * 0.9) = 2 of each: treated 1, 0 -> 0.5; control 0, 1 -> 0.5.
    assert uplift_at_k(OUTCOME, UPLIFT, TREATED, k=0.9) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("outcome", "treated", "message"),
    [
        (np.array([0, 2]), np.array([0, 1]), "outcome must hold only 0 and 1"),
        (np.array([0, 1]), np.array([1, 1]), "both treated and control"),
        (np.array([0, 1, 1]), np.array([0, 1]), "differ in length"),
    ],
)
def test_bad_inputs_are_named(outcome: np.ndarray, treated: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        qini_coefficient(outcome, np.zeros(len(outcome)), treated)
