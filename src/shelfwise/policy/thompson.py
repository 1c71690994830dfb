"""Bernoulli Thompson sampling over a ranked list, as the Open Bandit Dataset's production policy ran it.

`action_distribution` reproduces obp's `BernoulliTS.compute_batch_action_dist` (obp/policy/contextfree.py in
st-tech/zr-obp): with no observed rewards, each of `n_sim` simulated rounds draws one Beta(α, β) score per
item from a legacy `RandomState(seed)`, ranks the items by descending score (`argsort()[::-1]`) and counts
which item lands in each slot. Drawing the rounds in blocks consumes the generator in the same order as obp's
one-round loop, so the same seed gives the same table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy.logged import FloatArray

SIMULATION_BLOCK = 10_000


def action_distribution(
    alpha: FloatArray, beta: FloatArray, n_positions: int, n_sim: int = 100_000, seed: int | None = 12345
) -> FloatArray:
    """P(item a is shown in slot k), shape (n_actions, n_positions), from `n_sim` simulated rounds."""
    alpha = np.asarray(alpha, dtype=np.float64)
    beta = np.asarray(beta, dtype=np.float64)
    if alpha.shape != beta.shape or alpha.ndim != 1:
        raise InvalidRequestError(f"alpha {alpha.shape} and beta {beta.shape} must be vectors of one length")
    if not (np.all(alpha > 0) and np.all(beta > 0)):
        raise InvalidRequestError("every Beta prior parameter must be positive")
    n_actions = len(alpha)
    if not 1 <= n_positions <= n_actions:
        raise InvalidRequestError(f"n_positions must lie in 1..{n_actions}, got {n_positions}")
    if n_sim < 1:
        raise InvalidRequestError(f"n_sim must be at least 1, got {n_sim}")
    random = np.random.RandomState(seed)
    counts = np.zeros((n_actions, n_positions))
    slots = np.arange(n_positions)
    for start in range(0, n_sim, SIMULATION_BLOCK):
        block = min(SIMULATION_BLOCK, n_sim - start)
        scores = random.beta(alpha, beta, size=(block, n_actions))
        ranked = np.argsort(scores, axis=1)[:, ::-1][:, :n_positions]
        np.add.at(counts, (ranked, np.broadcast_to(slots, ranked.shape)), 1)
    return counts / n_sim


def zozotown_prior(path: Path, campaign: str) -> tuple[FloatArray, FloatArray]:
    """The production Beta prior (α, β per item) of `campaign` from obp's prior_bts.yaml."""
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InvalidRequestError(f"cannot parse {path}: {error}") from error
    if not isinstance(table, dict) or campaign not in table:
        known = ", ".join(map(str, table)) if isinstance(table, dict) else "none"
        raise InvalidRequestError(f"{path} has no prior for campaign {campaign!r} (it has: {known})")
    entry = table[campaign]
    if not isinstance(entry, dict) or "alpha" not in entry or "beta" not in entry:
        raise InvalidRequestError(f"{path}: campaign {campaign!r} needs 'alpha' and 'beta' lists")
    try:
        alpha = np.asarray(entry["alpha"], dtype=np.float64)
        beta = np.asarray(entry["beta"], dtype=np.float64)
    except (TypeError, ValueError) as error:
        problem = f"{path}: campaign {campaign!r} has a non-numeric prior: {error}"
        raise InvalidRequestError(problem) from error
    if alpha.shape != beta.shape:
        raise InvalidRequestError(f"{path}: campaign {campaign!r} has {len(alpha)} alphas, {len(beta)} betas")
    return alpha, beta
