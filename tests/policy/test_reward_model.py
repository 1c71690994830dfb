"""The cross-fitted click model for the direct and doubly robust estimators."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.logged import FloatArray, IntArray, LoggedBandit
from shelfwise.policy.reward_model import cross_fitted_predictions


class MeanClassifier:
    """Predicts the click rate of the rounds it was fitted on, whatever the features."""

    def fit(self, features: FloatArray, labels: IntArray) -> MeanClassifier:
        self.rate = float(np.mean(labels))
        return self

    def predict_proba(self, features: FloatArray) -> FloatArray:
        return np.column_stack([np.full(len(features), 1 - self.rate), np.full(len(features), self.rate)])


def log_of(action: list[int], reward: list[float], n_actions: int = 2) -> LoggedBandit:
    return LoggedBandit(
        action=np.array(action),
        reward=np.array(reward),
        propensity=np.full(len(action), 1 / n_actions),
        n_actions=n_actions,
    )


def test_no_round_is_predicted_by_a_model_that_saw_its_own_click() -> None:
    # Leave-one-out folds: the clicked round's model saw only non-clicks (so it predicts 0), every other
    # round's model saw the one click among three rounds.
    log = log_of([0, 1, 0, 1], [1.0, 0.0, 0.0, 0.0])
    predictions = cross_fitted_predictions(
        log, np.eye(2), n_folds=4, make_classifier=lambda _seed: MeanClassifier()
    )
    assert predictions.shape == (4, 2, 1)
    assert np.all(predictions[0] == 0.0)
    assert np.allclose(predictions[1:], 1 / 3)


@pytest.mark.parametrize("per_position", [False, True])
def test_the_logistic_model_learns_which_item_is_clicked_in_which_slot(per_position: bool) -> None:
    rng = np.random.default_rng(5)
    rounds = 3000
    action = rng.integers(0, 3, rounds)
    position = rng.integers(0, 2, rounds)
    rate = np.array([0.05, 0.2, 0.5])[action] * np.array([1.0, 0.5])[position]
    log = LoggedBandit(
        action=action,
        reward=(rng.random(rounds) < rate).astype(np.float64),
        propensity=np.full(rounds, 1 / 3),
        n_actions=3,
        position=position,
        n_positions=2,
    )
    predictions = cross_fitted_predictions(log, np.eye(3), seed=0, per_position=per_position)
    assert predictions.shape == (rounds, 3, 2)
    first = predictions[0]
    assert first[0, 0] < first[1, 0] < first[2, 0]
    assert first[2, 1] < first[2, 0]


def test_non_binary_rewards_and_bad_features_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="0/1 rewards"):
        cross_fitted_predictions(log_of([0, 1, 0], [1.0, 0.5, 0.0]), np.eye(2))
    with pytest.raises(InvalidRequestError, match="one row per action \\(2\\)"):
        cross_fitted_predictions(log_of([0, 1, 0], [1.0, 0.0, 0.0]), np.eye(3))


def test_a_slot_without_clicks_in_a_fold_gets_a_zero_rate_model() -> None:
    # Slot 1 never gets a click: its per-slot model predicts 0 for every action; slot 0 learns item 1.
    log = LoggedBandit(
        action=np.array([0, 1, 0, 1] * 6),
        reward=np.array([0.0, 1.0, 0.0, 0.0] * 6),
        propensity=np.full(24, 0.5),
        n_actions=2,
        position=np.array([0, 0, 1, 1] * 6),
        n_positions=2,
    )
    predictions = cross_fitted_predictions(log, np.eye(2), n_folds=2, per_position=True)
    assert np.all(predictions[:, :, 1] == 0.0)
    assert np.all(predictions[:, 1, 0] > predictions[:, 0, 0])
