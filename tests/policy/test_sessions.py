"""Per-decision importance sampling over sessions: hand-checked episodes and a small MDP with a known
value."""

from __future__ import annotations

import numpy as np
import pytest

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.sessions import LoggedSessions, estimate_sessions, pdis, wpdis


def hand_sessions() -> LoggedSessions:
    # Episode "a": two clicked steps with ratios 1/0.5 = 2 and 0.5/0.5 = 1 (cumulative 2, 2).
    # Episode "b": one unclicked step with ratio 0.25/0.5 = 0.5, then absorbed (cumulative 0.5, 0.5).
    # Steps interleave as they would in an event log.
    return LoggedSessions.from_steps(
        episode=["a", "b", "a"],
        reward=np.array([1.0, 0.0, 1.0]),
        logging_probability=np.array([0.5, 0.5, 0.5]),
        evaluation_probability=np.array([1.0, 0.25, 0.5]),
    )


def test_per_decision_estimators_match_the_hand_computed_values() -> None:
    sessions = hand_sessions()
    assert sessions.reward.tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert sessions.ratio.tolist() == [[2.0, 1.0], [0.5, 1.0]]
    assert pdis(sessions) == pytest.approx((2 + 2 + 0) / 2)
    assert pdis(sessions, gamma=0.5) == pytest.approx((2 + 0.5 * 2) / 2)
    # Each step: (2·1 + 0.5·0) / (2 + 0.5) = 0.8.
    assert wpdis(sessions) == pytest.approx(0.8 + 0.8)
    assert wpdis(sessions, gamma=0.5) == pytest.approx(0.8 + 0.4)


STATES, ACTIONS, HORIZON, GAMMA = 2, 2, 4, 0.9
# reward[s, a]; next state is the action taken with 0.8, the other state with 0.2; start in state 0.
REWARD = np.array([[0.5, 0.0], [0.0, 1.0]])
STAY = 0.8
BEHAVIOUR = np.full((STATES, ACTIONS), 0.5)
EVALUATED = np.array([[0.7, 0.3], [0.1, 0.9]])


def transition() -> np.ndarray:
    """P[s, a, s'] of the MDP above."""
    table = np.full((STATES, ACTIONS, STATES), 1 - STAY)
    for action in range(ACTIONS):
        table[:, action, action] = STAY
    return table


def true_value(policy: np.ndarray) -> float:
    """Expected discounted return from state 0 over HORIZON steps, by backward induction."""
    value = np.zeros(STATES)
    for _ in range(HORIZON):
        value = np.sum(policy * (REWARD + GAMMA * transition() @ value), axis=1)
    return float(value[0])


def simulate(episodes: int, seed: int) -> LoggedSessions:
    rng = np.random.default_rng(seed)
    state = np.zeros(episodes, dtype=int)
    rewards, ratios = np.zeros((episodes, HORIZON)), np.zeros((episodes, HORIZON))
    for step in range(HORIZON):
        action = (rng.random(episodes) < BEHAVIOUR[state, 1]).astype(int)
        rewards[:, step] = REWARD[state, action]
        ratios[:, step] = EVALUATED[state, action] / BEHAVIOUR[state, action]
        stays = rng.random(episodes) < STAY
        state = np.where(stays, action, 1 - action)
    return LoggedSessions(rewards, ratios)


def test_both_estimators_recover_the_value_of_a_known_mdp_from_another_policy_s_sessions() -> None:
    truth = true_value(EVALUATED)
    assert truth != pytest.approx(true_value(BEHAVIOUR), abs=0.2)  # the logs alone would mislead
    estimates = estimate_sessions(simulate(20_000, seed=2), gamma=GAMMA, n_bootstrap=200)
    for name in ("pdis", "wpdis"):
        figure = estimates[name]
        assert figure.ci_low <= truth <= figure.ci_high, name
        assert figure.value == pytest.approx(truth, rel=0.05), name
        assert 0 < figure.effective_sample_size < 20_000
        assert figure.n == 20_000


def test_steps_with_a_bad_probability_are_refused_with_their_index() -> None:
    with pytest.raises(InvalidRequestError, match="logging_probability must lie in \\(0, 1\\]; step 1"):
        LoggedSessions.from_steps(["a", "a"], np.ones(2), np.array([0.5, 0.0]), np.array([0.5, 0.5]))
    with pytest.raises(InvalidRequestError, match="reward has 1 steps, episode has 2"):
        LoggedSessions.from_steps(["a", "a"], np.ones(1), np.full(2, 0.5), np.full(2, 0.5))
