"""Per-decision importance sampling over logged sessions (trajectories), for policies that act at every step.

With ρᵢ,ₜ = Πₛ≤ₜ π(aᵢ,ₛ | sᵢ,ₛ) / π_b(aᵢ,ₛ | sᵢ,ₛ), the cumulative ratio up to step t of episode i (Precup,
Sutton & Singh 2000; Thomas 2015, "Safe reinforcement learning", ch. 3):
  pdis   (1/N) Σᵢ Σₜ γᵗ ρᵢ,ₜ rᵢ,ₜ                     unbiased
  wpdis  Σₜ γᵗ (Σᵢ ρᵢ,ₜ rᵢ,ₜ) / (Σᵢ ρᵢ,ₜ)             consistent, bounded by the rewards
A finished episode stays in an absorbing state with ratio 1 and reward 0, so episodes of different lengths
share one horizon. Intervals are the percentile bootstrap over episodes; the effective sample size is Kish's
over the episodes' full-length ratios.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.estimators import Estimate, effective_sample_size, percentile_interval, resamples
from shelfwise.policy.logged import FloatArray, IntArray


@dataclass(frozen=True, eq=False)
class LoggedSessions:
    """Episodes as (episodes, horizon) arrays: the reward of each step and the ratio π / π_b of the action
    taken there; steps after an episode's end hold reward 0 and ratio 1."""

    reward: FloatArray
    ratio: FloatArray

    @classmethod
    def from_steps(
        cls,
        episode: Iterable[object],
        reward: FloatArray,
        logging_probability: FloatArray,
        evaluation_probability: FloatArray,
    ) -> LoggedSessions:
        """Steps listed in order within each episode (episodes may interleave), with the probability of the
        logged action under the behaviour policy and under the evaluated one."""
        labels = np.asarray(list(episode))
        reward = np.asarray(reward, dtype=np.float64)
        logging_probability = np.asarray(logging_probability, dtype=np.float64)
        evaluation_probability = np.asarray(evaluation_probability, dtype=np.float64)
        steps = len(labels)
        if steps == 0:
            raise InvalidRequestError("no logged steps")
        for name, values in (
            ("reward", reward),
            ("logging_probability", logging_probability),
            ("evaluation_probability", evaluation_probability),
        ):
            if len(values) != steps:
                raise InvalidRequestError(f"{name} has {len(values)} steps, episode has {steps}")
        bad = np.flatnonzero(~((logging_probability > 0) & (logging_probability <= 1)))
        if bad.size:
            raise InvalidRequestError(f"logging_probability must lie in (0, 1]; step {bad[0]} breaks it")
        bad = np.flatnonzero(~((evaluation_probability >= 0) & (evaluation_probability <= 1)))
        if bad.size:
            raise InvalidRequestError(f"evaluation_probability must lie in [0, 1]; step {bad[0]} breaks it")
        _, index = np.unique(labels, return_inverse=True)
        order = np.argsort(index, kind="stable")
        counts = np.bincount(index)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        step_in_episode = np.arange(steps) - np.repeat(starts, counts)
        shape = (len(counts), int(counts.max()))
        rewards, ratios = np.zeros(shape), np.ones(shape)
        rows = index[order]
        rewards[rows, step_in_episode] = reward[order]
        ratios[rows, step_in_episode] = evaluation_probability[order] / logging_probability[order]
        return cls(rewards, ratios)

    @property
    def episodes(self) -> int:
        return self.reward.shape[0]

    def take(self, rows: IntArray) -> LoggedSessions:
        return LoggedSessions(self.reward[rows], self.ratio[rows])


def discounts(horizon: int, gamma: float) -> FloatArray:
    if not 0 <= gamma <= 1:
        raise InvalidRequestError(f"gamma must lie in [0, 1], got {gamma}")
    return np.power(gamma, np.arange(horizon))


def pdis(sessions: LoggedSessions, gamma: float = 1.0) -> FloatArray:
    """Per-decision importance sampling; over the last two axes, so a stack of resamples works too."""
    cumulative = np.cumprod(sessions.ratio, axis=-1)
    returns = np.sum(cumulative * sessions.reward * discounts(sessions.reward.shape[-1], gamma), axis=-1)
    return np.mean(returns, axis=-1)


def wpdis(sessions: LoggedSessions, gamma: float = 1.0) -> FloatArray:
    """Weighted per-decision importance sampling: each step's ratios normalised across episodes."""
    cumulative = np.cumprod(sessions.ratio, axis=-1)
    totals = np.sum(cumulative, axis=-2)
    weighted = np.sum(cumulative * sessions.reward, axis=-2)
    per_step = np.divide(weighted, totals, out=np.zeros_like(weighted), where=totals > 0)
    return np.sum(per_step * discounts(sessions.reward.shape[-1], gamma), axis=-1)


SESSION_ESTIMATORS: dict[str, Callable[[LoggedSessions, float], FloatArray]] = {"pdis": pdis, "wpdis": wpdis}


def estimate_sessions(
    sessions: LoggedSessions,
    names: Iterable[str] = ("pdis", "wpdis"),
    *,
    gamma: float = 1.0,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 12345,
) -> dict[str, Estimate]:
    """Each named per-decision estimator's `Estimate` of the evaluated policy's expected (discounted)
    return per episode."""
    size = effective_sample_size(np.prod(sessions.ratio, axis=-1))
    estimates = {}
    for name in names:
        if name not in SESSION_ESTIMATORS:
            raise InvalidRequestError(f"unknown estimator {name!r}; known: {', '.join(SESSION_ESTIMATORS)}")
        estimator = SESSION_ESTIMATORS[name]
        blocks = resamples(sessions.episodes, n_bootstrap, seed)
        values = np.concatenate([np.atleast_1d(estimator(sessions.take(rows), gamma)) for rows in blocks])
        low, high = percentile_interval(values, confidence)
        estimates[name] = Estimate(
            estimator=name,
            value=float(estimator(sessions, gamma)),
            bootstrap_mean=float(values.mean()),
            ci_low=low,
            ci_high=high,
            effective_sample_size=size,
            n=sessions.episodes,
        )
    return estimates
