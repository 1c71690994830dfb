"""Off-policy estimators on logs small enough to compute by hand, and on a simulated log with a known
truth."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.estimators import RoundTerms, effective_sample_size, estimate, ipw
from shelfwise.policy.logged import LoggedBandit

# Four rounds, two actions, one slot. The candidate picks action 0 with 0.8, action 1 with 0.2; the click
# model says 0.3 for action 0 and 0.6 for action 1. Importance weights: 1.6, 0.5, 1.6, 0.25 (sum 3.95);
# weighted rewards 1.6 + 0.25 = 1.85; model residuals weighted: 1.12 − 0.3 − 0.48 + 0.1 = 0.44.
HAND = {
    "ipw": 1.85 / 4,
    "snipw": 1.85 / 3.95,
    "dm": 0.8 * 0.3 + 0.2 * 0.6,
    "dr": 0.36 + 0.44 / 4,
    "sndr": 0.36 + 0.44 / 3.95,
}


def hand_log() -> LoggedBandit:
    log = LoggedBandit(
        action=np.array([0, 1, 0, 1]),
        reward=np.array([1.0, 0.0, 0.0, 1.0]),
        propensity=np.array([0.5, 0.4, 0.5, 0.8]),
        n_actions=2,
    )
    return log.evaluated_by(np.array([[0.8], [0.2]])).with_reward_predictions(
        np.broadcast_to(np.array([[0.3], [0.6]]), (4, 2, 1))
    )


def test_each_estimator_matches_the_hand_computed_value() -> None:
    estimates = estimate(hand_log(), tuple(HAND), n_bootstrap=50)
    for name, expected in HAND.items():
        assert estimates[name].value == pytest.approx(expected, abs=1e-12), name
        assert estimates[name].n == 4


def test_effective_sample_size_is_kish_over_the_importance_weights() -> None:
    estimates = estimate(hand_log(), ("ipw", "dm"), n_bootstrap=10)
    kish = 3.95**2 / (1.6**2 + 0.5**2 + 1.6**2 + 0.25**2)
    assert estimates["ipw"].effective_sample_size == pytest.approx(kish)
    assert estimates["dm"].effective_sample_size == 4
    assert effective_sample_size(np.ones(7)) == pytest.approx(7)
    assert effective_sample_size(np.array([1.0, 0.0, 0.0])) == pytest.approx(1)


def test_the_weight_is_read_at_the_round_s_own_slot() -> None:
    # The candidate shows action 0 in slot 0 and action 1 in slot 1. Only round 0 (action 0 in slot 0)
    # agrees with it and clicked: weight 2, so ipw = 2/3; reading slot 0 for every round would give 4/3.
    log = LoggedBandit(
        action=np.array([0, 0, 1]),
        reward=np.array([1.0, 1.0, 0.0]),
        propensity=np.full(3, 0.5),
        n_actions=2,
        position=np.array([0, 1, 1]),
        n_positions=2,
    ).evaluated_by(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert estimate(log, ("ipw",), n_bootstrap=5)["ipw"].value == pytest.approx(2 / 3)


def test_intervals_are_reproducible_with_a_seed_and_contain_the_bootstrap_mean() -> None:
    first = estimate(hand_log(), ("ipw", "dr"), n_bootstrap=300, seed=3)
    again = estimate(hand_log(), ("ipw", "dr"), n_bootstrap=300, seed=3)
    other = estimate(hand_log(), ("ipw", "dr"), n_bootstrap=300, seed=4)
    assert first == again
    assert first != other
    for figure in first.values():
        assert figure.ci_low <= figure.bootstrap_mean <= figure.ci_high
        assert figure.ci_low < figure.ci_high


def simulated_log(rounds: int, seed: int) -> tuple[LoggedBandit, float]:
    """Uniform logging over three actions with click rates 0.1, 0.3, 0.6; the candidate plays action 2 with
    0.7 and action 1 with 0.3, so its true value is 0.7·0.6 + 0.3·0.3 = 0.51."""
    rng = np.random.default_rng(seed)
    rates = np.array([0.1, 0.3, 0.6])
    action = rng.integers(0, 3, rounds)
    log = LoggedBandit(
        action=action,
        reward=(rng.random(rounds) < rates[action]).astype(np.float64),
        propensity=np.full(rounds, 1 / 3),
        n_actions=3,
        context=np.zeros((rounds, 1)),
    )
    candidate = np.array([[0.0], [0.3], [0.7]])
    biased_model = np.broadcast_to((rates + 0.2)[:, None], (rounds, 3, 1))
    return log.evaluated_by(candidate).with_reward_predictions(biased_model), 0.51


def test_weighted_estimators_cover_the_truth_and_dr_corrects_a_biased_model() -> None:
    log, truth = simulated_log(20_000, seed=11)
    estimates = estimate(log, ("ipw", "snipw", "dm", "dr", "sndr"), n_bootstrap=400)
    for name in ("ipw", "snipw", "dr", "sndr"):
        assert estimates[name].ci_low <= truth <= estimates[name].ci_high, name
    # The click model is 0.2 too high everywhere: dm inherits the bias, dr removes it.
    assert estimates["dm"].value == pytest.approx(truth + 0.2)
    assert abs(estimates["dr"].value - truth) < 0.02


def test_model_based_estimators_need_reward_predictions() -> None:
    log = LoggedBandit(
        action=np.array([0]), reward=np.array([1.0]), propensity=np.array([1.0]), n_actions=2
    ).evaluated_by(np.array([[1.0], [0.0]]))
    with pytest.raises(InvalidRequestError, match="dr needs a reward model"):
        estimate(log, ("dr",), n_bootstrap=2)
    with pytest.raises(InvalidRequestError, match="unknown estimator 'switch'"):
        estimate(log, ("switch",), n_bootstrap=2)


def test_estimating_without_a_candidate_policy_says_so() -> None:
    log = LoggedBandit(action=np.array([0]), reward=np.array([1.0]), propensity=np.array([1.0]), n_actions=2)
    with pytest.raises(InvalidRequestError, match="evaluated_by"):
        estimate(log)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"propensity": np.array([0.5, 0.0])}, r"propensity must lie in \(0, 1\]; row 1"),
        ({"action": np.array([0, 2])}, "action must lie in 0..1; row 1 has 2"),
        ({"reward": np.array([1.0, np.nan])}, "reward is not finite in row 1"),
        ({"reward": np.array([1.0])}, "reward has 1 rows, action has 2"),
        ({"evaluation": np.array([[[0.5], [0.4]], [[0.5], [0.5]]])}, "row 0 at position 0 sum to 0.9"),
        ({"reward_predictions": np.zeros((2, 3, 1))}, r"reward_predictions has shape \(2, 3, 1\)"),
    ],
)
def test_a_malformed_log_is_refused_with_the_row_at_fault(change: dict[str, object], message: str) -> None:
    fields: dict[str, object] = {
        "action": np.array([0, 1]),
        "reward": np.array([1.0, 0.0]),
        "propensity": np.array([0.5, 0.5]),
        "n_actions": 2,
    }
    with pytest.raises(InvalidRequestError, match=message):
        LoggedBandit(**{**fields, **change})  # type: ignore[arg-type]


def test_round_terms_of_a_resample_stack_give_one_value_per_resample() -> None:
    terms = RoundTerms.of(hand_log())
    stacked = terms.take(np.array([[0, 1, 2, 3], [0, 0, 0, 0]]))
    assert ipw(stacked) == pytest.approx([HAND["ipw"], 1.6])


def test_taking_rounds_keeps_every_per_round_field_aligned() -> None:
    resample = hand_log().take(np.array([3, 3, 0]))
    assert resample.action.tolist() == [1, 1, 0]
    assert resample.propensity.tolist() == [0.8, 0.8, 0.5]
    assert resample.evaluation is not None and resample.evaluation.shape == (3, 2, 1)
    assert estimate(resample, ("ipw",), n_bootstrap=1)["ipw"].value == pytest.approx((0.25 + 0.25 + 1.6) / 3)
