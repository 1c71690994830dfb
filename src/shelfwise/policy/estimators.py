"""Off-policy estimators of a candidate policy's value from logged rounds, with bootstrap intervals.

Definitions follow the Open Bandit Pipeline (obp/ope/estimators.py in st-tech/zr-obp, Apache-2.0), per round i
with importance weight wᵢ = π(aᵢ | xᵢ, kᵢ) / π_b(aᵢ | xᵢ, kᵢ) at slot kᵢ and a reward model q̂:
  ipw    mean(wᵢ rᵢ)                                   (InverseProbabilityWeighting)
  snipw  Σ wᵢ rᵢ / Σ wᵢ                                (SelfNormalizedInverseProbabilityWeighting)
  dm     mean(Σₐ π(a | xᵢ, kᵢ) q̂(xᵢ, a, kᵢ))          (DirectMethod)
  dr     dm term + mean(wᵢ (rᵢ − q̂(xᵢ, aᵢ, kᵢ)))       (DoublyRobust)
  sndr   dm term + Σ wᵢ (rᵢ − q̂ᵢ) / Σ wᵢ              (SelfNormalizedDoublyRobust)
The interval is the percentile bootstrap over rounds. Unlike obp, which resamples the per-round terms of the
full-data estimate, each resample recomputes the estimator, so the self-normalised ones normalise within it.
The effective sample size is Kish's (Σ w)² / Σ w² over the importance weights (all rounds for dm).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.logged import FloatArray, IntArray, LoggedBandit

BOOTSTRAP_CHUNK = 64


class Estimate(BaseModel):
    """One estimator's figure for one policy: the full-data `value`, the bootstrap's mean and percentile
    interval, the effective sample size and the number of rounds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    estimator: str
    value: float
    bootstrap_mean: float
    ci_low: float
    ci_high: float
    effective_sample_size: float
    n: int


@dataclass(frozen=True, eq=False)
class RoundTerms:
    """The per-round quantities every estimator is a function of; arrays end in the round axis, so a stack
    of bootstrap resamples (resamples, rounds) goes through the same formulas."""

    reward: FloatArray
    weight: FloatArray
    direct: FloatArray | None  # Σₐ π(a | xᵢ, kᵢ) q̂(xᵢ, a, kᵢ)
    predicted: FloatArray | None  # q̂(xᵢ, aᵢ, kᵢ)

    @classmethod
    def of(cls, log: LoggedBandit) -> RoundTerms:
        if log.evaluation is None:
            raise InvalidRequestError("the log carries no evaluation policy: call evaluated_by() first")
        rounds = np.arange(log.rows)
        positions = log.positions
        weight = log.evaluation[rounds, log.action, positions] / log.propensity
        direct = predicted = None
        if log.reward_predictions is not None:
            chosen = log.evaluation[rounds, :, positions]  # (rounds, actions)
            direct = np.einsum("ra,ra->r", chosen, log.reward_predictions[rounds, :, positions])
            predicted = log.reward_predictions[rounds, log.action, positions]
        return cls(log.reward.astype(np.float64), weight, direct, predicted)

    def take(self, rows: IntArray) -> RoundTerms:
        return RoundTerms(
            self.reward[rows],
            self.weight[rows],
            None if self.direct is None else self.direct[rows],
            None if self.predicted is None else self.predicted[rows],
        )

    def model_terms(self, estimator: str) -> tuple[FloatArray, FloatArray]:
        if self.direct is None or self.predicted is None:
            raise InvalidRequestError(
                f"{estimator} needs a reward model's predictions: call with_reward_predictions() first"
            )
        return self.direct, self.predicted


def ipw(terms: RoundTerms) -> FloatArray:
    return np.mean(terms.weight * terms.reward, axis=-1)


def snipw(terms: RoundTerms) -> FloatArray:
    return np.sum(terms.weight * terms.reward, axis=-1) / np.sum(terms.weight, axis=-1)


def dm(terms: RoundTerms) -> FloatArray:
    direct, _ = terms.model_terms("dm")
    return np.mean(direct, axis=-1)


def dr(terms: RoundTerms) -> FloatArray:
    direct, predicted = terms.model_terms("dr")
    return np.mean(direct + terms.weight * (terms.reward - predicted), axis=-1)


def sndr(terms: RoundTerms) -> FloatArray:
    direct, predicted = terms.model_terms("sndr")
    correction = np.sum(terms.weight * (terms.reward - predicted), axis=-1) / np.sum(terms.weight, axis=-1)
    return np.mean(direct, axis=-1) + correction


Estimator = Callable[[RoundTerms], FloatArray]
ESTIMATORS: dict[str, Estimator] = {"ipw": ipw, "snipw": snipw, "dm": dm, "dr": dr, "sndr": sndr}
WEIGHTED = frozenset({"ipw", "snipw", "dr", "sndr"})


def effective_sample_size(weights: FloatArray) -> float:
    """Kish's effective sample size of importance weights: n when all are equal, 1 when one dominates."""
    total = float(np.sum(weights))
    squares = float(np.sum(np.square(weights)))
    return 0.0 if squares == 0 else total * total / squares


def resamples(rounds: int, n_bootstrap: int, seed: int | None) -> Iterator[IntArray]:
    """Blocks of bootstrap resamples of `rounds` rows, shape (block, rounds). The same seed draws the same
    resamples for every estimator, so their figures are paired."""
    if n_bootstrap < 1:
        raise InvalidRequestError(f"n_bootstrap must be at least 1, got {n_bootstrap}")
    rng = np.random.default_rng(seed)
    for start in range(0, n_bootstrap, BOOTSTRAP_CHUNK):
        yield rng.integers(0, rounds, size=(min(BOOTSTRAP_CHUNK, n_bootstrap - start), rounds))


def percentile_interval(values: FloatArray, confidence: float) -> tuple[float, float]:
    if not 0 < confidence < 1:
        raise InvalidRequestError(f"confidence must lie in (0, 1), got {confidence}")
    tail = 100 * (1 - confidence) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_values(
    terms: RoundTerms, estimator: Estimator, n_bootstrap: int, seed: int | None
) -> FloatArray:
    """The estimator on `n_bootstrap` resamples of the rounds (with replacement)."""
    blocks = resamples(len(terms.reward), n_bootstrap, seed)
    return np.concatenate([np.atleast_1d(estimator(terms.take(rows))) for rows in blocks])


def summarise(name: str, terms: RoundTerms, resampled: FloatArray, confidence: float) -> Estimate:
    low, high = percentile_interval(resampled, confidence)
    rounds = len(terms.reward)
    return Estimate(
        estimator=name,
        value=float(ESTIMATORS[name](terms)),
        bootstrap_mean=float(np.mean(resampled)),
        ci_low=low,
        ci_high=high,
        effective_sample_size=effective_sample_size(terms.weight) if name in WEIGHTED else float(rounds),
        n=rounds,
    )


def estimate(
    log: LoggedBandit,
    names: Iterable[str] = ("ipw", "snipw", "dm", "dr"),
    *,
    n_bootstrap: int = 1000,
    confidence: float = 0.95,
    seed: int | None = 12345,
) -> dict[str, Estimate]:
    """Each named estimator's `Estimate` of the value of the policy in `log.evaluation`."""
    terms = RoundTerms.of(log)
    estimates = {}
    for name in names:
        if name not in ESTIMATORS:
            raise InvalidRequestError(f"unknown estimator {name!r}; known: {', '.join(ESTIMATORS)}")
        resampled = bootstrap_values(terms, ESTIMATORS[name], n_bootstrap, seed)
        estimates[name] = summarise(name, terms, resampled, confidence)
    return estimates
