"""A/B experiments: arms with traffic shares, a fixed-horizon plan, and the per-arm results with the
decision. An arm is a named variant (a model version, a policy or a settings label) that the caller
applies; the engine assigns visitors and measures the arms (docs/experiments.md)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Unit = Literal["user", "session"]
DecisionMetric = Literal["conversion", "add_to_cart_rate", "click_through"]
ExperimentState = Literal["draft", "running", "stopped"]
Verdict = Literal["too early", "ship", "keep control"]


class Arm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    share: float = Field(gt=0, le=1, description="The part of the traffic this arm gets.")


class ExperimentSpec(BaseModel):
    """What an admin defines; the first arm is the control."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    arms: list[Arm] = Field(min_length=2, max_length=20)
    unit: Unit = "user"
    metric: DecisionMetric = "conversion"
    baseline_rate: float = Field(
        default=0.05, gt=0, lt=1, description="The control's expected rate of the decision metric."
    )
    minimum_detectable_effect: float = Field(
        default=0.01, gt=0, lt=1, description="The smallest absolute lift worth detecting."
    )
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    power: float = Field(default=0.8, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _arms_are_a_partition(self) -> ExperimentSpec:
        names = [arm.name for arm in self.arms]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"arm names must be unique; repeated: {repeated}")
        total = sum(arm.share for arm in self.arms)
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"arm shares must sum to 1; they sum to {total:g}")
        if self.baseline_rate + self.minimum_detectable_effect >= 1:
            raise ValueError("baseline_rate + minimum_detectable_effect must stay below 1")
        return self


class Experiment(ExperimentSpec):
    experiment_id: str
    state: ExperimentState = "draft"
    horizon_per_arm: int = Field(description="Exposed units every arm needs before any verdict.")
    created_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None


class Assignment(BaseModel):
    experiment_id: str
    unit: Unit
    unit_id: str
    arm: str
    first_exposed_at: datetime


class Interval(BaseModel):
    estimate: float
    low: float
    high: float


class ArmResult(BaseModel):
    arm: str
    visitors: int = Field(description="Units exposed to the arm.")
    click_through: Interval = Field(description="Clicks / views after exposure.")
    add_to_cart_rate: Interval = Field(description="Share of visitors with an add to cart.")
    conversion: Interval = Field(description="Share of visitors with a purchase.")
    revenue_per_visitor: Interval
    difference: Interval | None = Field(
        default=None, description="The decision metric's difference to the control (None for it)."
    )
    p_value: float | None = None


class ExperimentResults(BaseModel):
    experiment: Experiment
    arms: list[ArmResult]
    confidence: float
    decision: Verdict
    winner: str | None = Field(default=None, description="The arm to ship when the decision is ship.")
    reason: str
