"""The BG/NBD purchase-frequency model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy Way").

Each customer buys at a Poisson rate drawn from Gamma(r, alpha) and, after each purchase, drops out for
good with a probability drawn from Beta(a, b). Fitted by maximum likelihood over the closed-form
likelihood of (x, t_x, T): repeat purchases, the time of the last one and the time observed, both counted
from the first purchase. Written here rather than taken from `lifetimes` (unmaintained since 2020; under
the numpy, scipy and pandas this project uses it refuses the published CDNOW sample and fails to converge
on it) or PyMC-Marketing (pymc, pytensor, arviz, numba and more, for four parameters). It reproduces the
published parameters on the CDNOW sample (tests/customer_segments/test_bgnbd.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


@dataclass(frozen=True)
class BetaGeoParameters:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float = float("nan")

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


def log_likelihood(
    params: np.ndarray, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood under (r, alpha, a, b) (equation 6 of the paper, in logs)."""
    r, alpha, a, b = params
    x, t_x, t = frequency, recency, age
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    beta_ratio = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)  # B(a, b+x) / B(a, b)
    stays = beta_ratio - (r + x) * np.log(alpha + t)
    repeat = x > 0
    # The second term exists only for repeat buyers (b + x - 1 > 0 there).
    dropped = np.full_like(stays, -np.inf)
    dropped[repeat] = (
        beta_ratio[repeat]
        + np.log(a)
        - np.log(b + x[repeat] - 1)
        - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    return np.asarray(common + np.logaddexp(stays, dropped))


def fit_bgnbd(frequency: np.ndarray, recency: np.ndarray, age: np.ndarray) -> BetaGeoParameters:
    """Maximum-likelihood parameters for customers' (x, t_x, T); ValueError for inputs that cannot be
    fitted (no customers, negative values, a last purchase after the end of observation)."""
    x, t_x, t = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, age))
    if not len(x) or not (len(x) == len(t_x) == len(t)):
        raise ValueError("BG/NBD needs a frequency, recency and age per customer, for at least one customer")
    if (x < 0).any() or (t_x < 0).any() or (t <= 0).any():
        raise ValueError("BG/NBD needs frequency >= 0, recency >= 0 and age > 0")
    # Summaries rounded to two decimals may put the last purchase a hair after the end: clip, not refuse.
    t_x = np.minimum(t_x, t)

    def negative(log_params: np.ndarray) -> float:
        return -float(log_likelihood(np.exp(log_params), x, t_x, t).sum())

    result = minimize(negative, np.zeros(4), method="L-BFGS-B", bounds=[(-10.0, 10.0)] * 4)
    r, alpha, a, b = np.exp(result.x)
    return BetaGeoParameters(float(r), float(alpha), float(a), float(b), -float(result.fun))


def expected_purchases(
    params: BetaGeoParameters,
    horizon: float,
    frequency: np.ndarray,
    recency: np.ndarray,
    age: np.ndarray,
) -> np.ndarray:
    """Each customer's expected purchases in the next `horizon` time units, given their history
    (equation 10 of the paper)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, t = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, age))
    t_x = np.minimum(t_x, t)
    z = horizon / (alpha + t + horizon)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - ((alpha + t) / (alpha + t + horizon)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return np.asarray(first * second * probability_alive(params, x, t_x, t))


def probability_alive(
    params: BetaGeoParameters, frequency: np.ndarray, recency: np.ndarray, age: np.ndarray
) -> np.ndarray:
    """Each customer's probability of still buying, given their history (1 for one who never repeated)."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, t_x, t = (np.asarray(v, dtype=np.float64) for v in (frequency, recency, age))
    t_x = np.minimum(t_x, t)
    odds = np.zeros_like(x)
    repeat = x > 0
    odds[repeat] = (a / (b + x[repeat] - 1)) * ((alpha + t[repeat]) / (alpha + t_x[repeat])) ** (
        r + x[repeat]
    )
    return np.asarray(1.0 / (1.0 + odds))
