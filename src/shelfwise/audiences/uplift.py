"""Campaign targeting by uplift: for each customer, which campaign raises the chance of the outcome most
over sending nothing, and by how much, learned from a randomised test of the campaigns.

Two learners over LightGBM (a declared dependency), both standard and compact:
- two-model (T-learner): one classifier per arm, control included; a campaign's uplift is its predicted
  outcome rate minus the control's.
- class transformation (Jaskowski & Jaroszewicz 2012), per campaign over its own and the control rows:
  z = 1 for a treated responder or a control non-responder; with equal arm sizes uplift = 2 P(z=1) - 1.
  Arms of unequal size are reweighted to equal size, which the identity needs.
scikit-uplift implements the same learners but pins nothing we can use with today's numpy, pandas and
scikit-learn (0.5.1, 2022, needs pandas and calls a scikit-learn helper deprecated for removal), so the
learners live here and the metrics (`audiences.qini`) are checked against its definitions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import lightgbm as lgb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

Learner = Literal["two-model", "class-transformation"]


class UpliftConfig(BaseModel):
    """The defaults won a cross-validation inside the training half of hillstrom-email-targeting (six
    seeded splits of it; learner x {100 trees of 4 leaves, 200 of 8}); the held-out half was not used."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learner: Learner = Field(default="two-model", description="How uplift is learned (see the module).")
    trees: int = Field(default=100, ge=1, description="Boosting rounds of each classifier.")
    learning_rate: float = Field(default=0.03, gt=0, le=1)
    leaves: int = Field(default=4, ge=2, description="Leaves per tree: few, since responders are rare.")
    min_child_samples: int = Field(default=200, ge=1, description="Fewest customers in a leaf.")
    seed: int = 0


class CampaignTargeting:
    """Fitted on features, the arm each customer was randomised to and a 0/1 outcome; `control` names
    the arm that got no campaign."""

    def __init__(self, config: UpliftConfig | None = None) -> None:
        self.config = config or UpliftConfig()
        self.campaigns: tuple[str, ...] = ()
        self._models: dict[str, lgb.LGBMClassifier] = {}

    def fit(
        self, features: np.ndarray, arms: Sequence[str] | np.ndarray, outcome: np.ndarray, control: str
    ) -> CampaignTargeting:
        arm = np.asarray(arms, dtype=object)
        y = np.asarray(outcome, dtype=np.int64)
        if not len(features) == len(arm) == len(y):
            raise ValueError(
                f"features, arms and outcome differ in length: {len(features)}, {len(arm)}, {len(y)}"
            )
        if not (arm == control).any():
            raise ValueError(f"no customer is in the control arm {control!r}")
        self.campaigns = tuple(sorted(str(a) for a in set(arm.tolist()) - {control}))
        if not self.campaigns:
            raise ValueError("no campaign besides the control arm")
        if self.config.learner == "two-model":
            for name in (control, *self.campaigns):
                rows = arm == name
                self._models[name] = self._classifier().fit(features[rows], y[rows])
            self._control = control
        else:
            for name in self.campaigns:
                rows = (arm == name) | (arm == control)
                treated = arm[rows] == name
                target = np.where(treated, y[rows], 1 - y[rows])
                # Equal total weight per arm, so that 2 P(z=1) - 1 estimates the uplift.
                weight = np.where(treated, 0.5 / treated.mean(), 0.5 / (1 - treated.mean()))
                self._models[name] = self._classifier().fit(features[rows], target, sample_weight=weight)
        return self

    def _classifier(self) -> lgb.LGBMClassifier:
        c = self.config
        return lgb.LGBMClassifier(
            n_estimators=c.trees,
            learning_rate=c.learning_rate,
            num_leaves=c.leaves,
            min_child_samples=c.min_child_samples,
            random_state=c.seed,
            n_jobs=1,
            verbose=-1,
        )

    def _positive_rate(self, arm: str, features: np.ndarray) -> np.ndarray:
        rate: np.ndarray = np.asarray(self._models[arm].predict_proba(features))[:, 1]
        return rate

    def uplift(self, features: np.ndarray) -> np.ndarray:
        """Predicted uplift, shape (customers, campaigns), columns in `campaigns` order."""
        if not self._models:
            raise RuntimeError("CampaignTargeting is not fitted")
        if self.config.learner == "two-model":
            base = self._positive_rate(self._control, features)
            columns = [self._positive_rate(name, features) - base for name in self.campaigns]
        else:
            columns = [2 * self._positive_rate(name, features) - 1 for name in self.campaigns]
        return np.column_stack(columns)

    def choose(self, features: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Each customer's best campaign and its predicted uplift (target the highest first)."""
        uplift = self.uplift(features)
        best = uplift.argmax(axis=1)
        return [self.campaigns[i] for i in best], uplift[np.arange(len(best)), best]
