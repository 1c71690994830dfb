"""A click model q̂(x, a, k) for the direct and doubly robust estimators, cross-fitted as obp's
`RegressionModel.fit_predict` does (obp/ope/regression_model.py in st-tech/zr-obp): the rounds are split
into k folds and each fold's predictions come from a model trained on the other folds, so no round's own
reward leaks into the prediction that corrects it. Features are the round's context and the action's
features; either one classifier per slot, as obp does, or one for all slots with the slot one-hot added
(which leaves no slot short of clicks to learn from).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.logged import FloatArray, IntArray, LoggedBandit

PREDICTION_CHUNK = 256


class Classifier(Protocol):
    def fit(self, features: FloatArray, labels: IntArray) -> Any: ...

    def predict_proba(self, features: FloatArray) -> FloatArray: ...


def logistic_regression(seed: int | None) -> Classifier:
    """The model of obp's published Open Bandit Dataset benchmark: a lightly regularised logistic
    regression."""
    return LogisticRegression(C=100, max_iter=10_000, random_state=seed)


def features(
    log: LoggedBandit,
    action_features: FloatArray,
    rows: IntArray,
    actions: IntArray,
    positions: IntArray | None,
) -> FloatArray:
    """obp's `_pre_process_for_reg_model` (context, then the action's features), plus the slot one-hot when
    one model serves every slot."""
    parts = [] if log.context is None else [log.context[rows]]
    parts.append(action_features[actions])
    if positions is not None:
        parts.append(np.eye(log.n_positions)[positions])
    return np.hstack(parts)


def cross_fitted_predictions(
    log: LoggedBandit,
    action_features: FloatArray,
    *,
    n_folds: int = 3,
    seed: int | None = 12345,
    per_position: bool = False,
    make_classifier: Callable[[int | None], Classifier] = logistic_regression,
) -> FloatArray:
    """q̂ for every round, action and slot, shape (rows, n_actions, n_positions), each round predicted by
    the model that did not see it; `per_position` fits one model per slot on that slot's rounds."""
    action_features = np.asarray(action_features, dtype=np.float64)
    if action_features.ndim != 2 or len(action_features) != log.n_actions:
        raise InvalidRequestError(
            f"action_features must have one row per action ({log.n_actions}), "
            f"got shape {action_features.shape}"
        )
    labels = log.reward.astype(np.int64)
    if not np.array_equal(labels, log.reward) or np.any((labels != 0) & (labels != 1)):
        raise InvalidRequestError("the click model needs 0/1 rewards")
    if not 2 <= n_folds <= log.rows:
        raise InvalidRequestError(f"n_folds must lie in 2..{log.rows}, got {n_folds}")
    predictions = np.empty((log.rows, log.n_actions, log.n_positions))
    folds = KFold(n_splits=n_folds, shuffle=True, random_state=seed).split(np.arange(log.rows))
    slots: list[int | None] = list(range(log.n_positions)) if per_position else [None]
    for train, held_out in folds:
        for slot in slots:
            rows = train if slot is None else train[log.positions[train] == slot]
            predict = fitted(log, action_features, rows, labels[rows], slot, make_classifier(seed))
            for start in range(0, len(held_out), PREDICTION_CHUNK):
                chunk = held_out[start : start + PREDICTION_CHUNK]
                if slot is None:
                    predictions[chunk] = predict(chunk)
                else:
                    predictions[chunk, :, slot] = predict(chunk)[:, :, 0]
    return predictions


def fitted(
    log: LoggedBandit,
    action_features: FloatArray,
    train: IntArray,
    labels: IntArray,
    slot: int | None,
    model: Classifier,
) -> Callable[[IntArray], FloatArray]:
    """A function from rounds to their click probabilities per action and slot, trained on `train`: for
    every slot, or, given `slot`, for that one slot only (shape (rounds, n_actions, 1))."""
    grid = (log.n_actions, log.n_positions if slot is None else 1)
    if len(labels) == 0 or labels.min() == labels.max():  # no clicks (or only clicks): predict that rate
        rate = float(labels[0]) if len(labels) else 0.0
        return lambda rows: np.full((len(rows), *grid), rate)
    positions = log.positions[train] if slot is None else None
    model.fit(features(log, action_features, train, log.action[train], positions), labels)
    every_action, every_slot = (axis.ravel() for axis in np.indices(grid))

    def predict(rows: IntArray) -> FloatArray:
        cells = len(every_action)
        slots = np.tile(every_slot, len(rows)) if slot is None else None
        table = features(
            log, action_features, np.repeat(rows, cells), np.tile(every_action, len(rows)), slots
        )
        return model.predict_proba(table)[:, 1].reshape(len(rows), *grid)

    return predict
