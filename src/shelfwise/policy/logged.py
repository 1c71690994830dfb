"""Decisions logged under one policy, in the shape every off-policy estimator reads.

The array conventions follow the Open Bandit Pipeline (`obp`, st-tech/zr-obp): one row per shown action
(a round), the action's slot as `position`, and per-row tables of shape (rows, actions, positions) for
the evaluated policy's choice probabilities and for a reward model's predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from shelfwise.domain.errors import InvalidRequestError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class LoggedBandit:
    """Rounds logged by a behaviour policy.

    `propensity[i]` is the logging policy's probability of showing `action[i]` at `position[i]` in that
    round. `evaluation` (optional) holds a candidate policy's probabilities π(a | xᵢ, position) with shape
    (rows, n_actions, n_positions), each position's column summing to one; `reward_predictions` (optional)
    holds a reward model's q̂(xᵢ, a, position) in the same shape. `context` (optional) holds the features
    each round was decided on, one row per round.
    """

    action: IntArray
    reward: FloatArray
    propensity: FloatArray
    n_actions: int
    position: IntArray | None = None
    n_positions: int = 1
    context: FloatArray | None = None
    evaluation: FloatArray | None = None
    reward_predictions: FloatArray | None = None

    def __post_init__(self) -> None:
        rows = len(self.action)
        if rows == 0:
            raise InvalidRequestError("the log has no rounds")
        if self.n_actions < 1 or self.n_positions < 1:
            raise InvalidRequestError("n_actions and n_positions must be at least 1")
        for name in ("reward", "propensity"):
            if len(getattr(self, name)) != rows:
                raise InvalidRequestError(f"{name} has {len(getattr(self, name))} rows, action has {rows}")
        out_of_range(self.action, self.n_actions, "action")
        out_of_range(self.positions, self.n_positions, "position")
        bad = np.flatnonzero(~((self.propensity > 0) & (self.propensity <= 1)))
        if bad.size:
            raise InvalidRequestError(
                f"propensity must lie in (0, 1]; row {bad[0]} has {self.propensity[bad[0]]!r}"
            )
        if not np.all(np.isfinite(self.reward)):
            row = np.flatnonzero(~np.isfinite(self.reward))[0]
            raise InvalidRequestError(f"reward is not finite in row {row}")
        if self.context is not None and len(self.context) != rows:
            raise InvalidRequestError(f"context has {len(self.context)} rows, action has {rows}")
        shape = (rows, self.n_actions, self.n_positions)
        for name in ("evaluation", "reward_predictions"):
            table = getattr(self, name)
            if table is not None and table.shape != shape:
                raise InvalidRequestError(f"{name} has shape {table.shape}, expected {shape}")
        if self.evaluation is not None:
            sums = self.evaluation.sum(axis=1)
            if not np.allclose(sums, 1.0, atol=1e-6):
                row, slot = np.argwhere(~np.isclose(sums, 1.0, atol=1e-6))[0]
                raise InvalidRequestError(
                    f"evaluation probabilities of row {row} at position {slot} sum to "
                    f"{sums[row, slot]:.6g}, not 1"
                )

    @property
    def rows(self) -> int:
        return len(self.action)

    @property
    def positions(self) -> IntArray:
        """Each round's slot (0 for every round of a single-slot log)."""
        return np.zeros(self.rows, dtype=np.int64) if self.position is None else self.position

    def evaluated_by(self, probabilities: FloatArray) -> LoggedBandit:
        """This log with a candidate policy's choice probabilities: one (n_actions, n_positions) table for a
        policy that ignores context, or one per round."""
        table = np.asarray(probabilities, dtype=np.float64)
        if table.ndim == 2:
            table = np.broadcast_to(table, (self.rows, *table.shape))
        return replace(self, evaluation=table)

    def with_reward_predictions(self, predictions: FloatArray) -> LoggedBandit:
        return replace(self, reward_predictions=np.asarray(predictions, dtype=np.float64))

    def take(self, rows: IntArray) -> LoggedBandit:
        """The rounds at `rows` (repeats allowed: a bootstrap resample)."""
        return LoggedBandit(
            action=self.action[rows],
            reward=self.reward[rows],
            propensity=self.propensity[rows],
            n_actions=self.n_actions,
            position=None if self.position is None else self.position[rows],
            n_positions=self.n_positions,
            context=None if self.context is None else self.context[rows],
            evaluation=None if self.evaluation is None else self.evaluation[rows],
            reward_predictions=None if self.reward_predictions is None else self.reward_predictions[rows],
        )

    def on_policy_value(self) -> float:
        """The behaviour policy's own value: the mean logged reward."""
        return float(self.reward.mean())


def out_of_range(values: IntArray, size: int, name: str) -> None:
    bad = np.flatnonzero((values < 0) | (values >= size))
    if bad.size:
        raise InvalidRequestError(f"{name} must lie in 0..{size - 1}; row {bad[0]} has {values[bad[0]]}")
