"""The statistics of an A/B experiment: a stable assignment of units to arms, the fixed-horizon sample size
planned up front, per-arm metrics with intervals, and the decision rule (docs/experiments.md).

The horizon is the peeking guard: a two-proportion z-test read every day until it rejects has a far larger
false-positive rate than its alpha, so no verdict is given before every arm has its planned visitors."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl
from scipy.stats import norm

from shelfwise.domain.experiments import (
    Arm,
    ArmResult,
    DecisionMetric,
    Experiment,
    ExperimentResults,
    Interval,
    Unit,
)


def bucket(experiment_id: str, unit_id: str) -> float:
    """A uniform number in [0, 1) that depends only on the experiment and the unit: the same visitor gets
    the same arm on every request and every server, and two experiments split independently."""
    digest = hashlib.sha256(f"{experiment_id}\x00{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_arm(experiment_id: str, unit_id: str, arms: Sequence[Arm]) -> str:
    """The arm whose slice of the cumulative shares holds the unit's bucket."""
    point = bucket(experiment_id, unit_id)
    edge = 0.0
    for arm in arms:
        edge += arm.share
        if point < edge:
            return arm.name
    return arms[-1].name  # shares summing to 1 within rounding


def horizon_per_arm(baseline: float, effect: float, alpha: float, power: float) -> int:
    """Units per arm for a two-sided two-proportion z-test at `alpha` to detect baseline -> baseline +
    effect with probability `power` (the pooled-variance null, unpooled alternative formula)."""
    treated = baseline + effect
    pooled = (baseline + treated) / 2
    z_alpha = norm.ppf(1 - alpha / 2)
    z_power = norm.ppf(power)
    spread = z_alpha * math.sqrt(2 * pooled * (1 - pooled)) + z_power * math.sqrt(
        baseline * (1 - baseline) + treated * (1 - treated)
    )
    return math.ceil(spread**2 / effect**2)


def wilson(successes: int, trials: int, confidence: float) -> Interval:
    """The Wilson score interval: honest near 0 and 1 and for small arms, unlike the normal one."""
    if trials == 0:
        return Interval(estimate=0.0, low=0.0, high=1.0)
    z = norm.ppf(0.5 + confidence / 2)
    rate = successes / trials
    centre = (rate + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(rate * (1 - rate) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return Interval(estimate=rate, low=max(0.0, centre - half), high=min(1.0, centre + half))


def mean_interval(values: np.ndarray, confidence: float) -> Interval:
    """The normal interval of a mean (revenue per visitor: a sum over many visitors)."""
    if values.size == 0:
        return Interval(estimate=0.0, low=0.0, high=0.0)
    mean = float(values.mean())
    half = norm.ppf(0.5 + confidence / 2) * (
        float(values.std(ddof=1)) / math.sqrt(values.size) if values.size > 1 else 0.0
    )
    return Interval(estimate=mean, low=mean - half, high=mean + half)


@dataclass(frozen=True)
class ArmCounts:
    visitors: int
    views: int
    clicks: int
    carted: int
    converted: int
    revenue: np.ndarray  # per visitor, zeros included

    def proportion(self, metric: DecisionMetric) -> tuple[int, int]:
        """(successes, trials) of the metric."""
        if metric == "click_through":
            return min(self.clicks, self.views), self.views
        if metric == "add_to_cart_rate":
            return self.carted, self.visitors
        return self.converted, self.visitors


def count_arms(
    events: pl.DataFrame,
    unit: Unit,
    exposures: Mapping[str, tuple[str, datetime]],
    arm_names: Sequence[str],
    until: datetime | None = None,
) -> dict[str, ArmCounts]:
    """Per arm, what its exposed units did from their first exposure on (`exposures`: unit id -> (arm,
    naive UTC first exposure)) until the experiment stopped (`until`, naive UTC); events before the
    exposure were not caused by the arm, and after the stop the arm is no longer applied."""
    column = "user_id" if unit == "user" else "session_id"
    exposed = pl.DataFrame(
        {
            "unit_id": list(exposures),
            "arm": [arm for arm, _ in exposures.values()],
            "exposed_at": [moment for _, moment in exposures.values()],
        },
        schema={"unit_id": pl.Utf8, "arm": pl.Utf8, "exposed_at": pl.Datetime("us")},
    )
    after = (
        events.join(exposed, left_on=column, right_on="unit_id", how="inner")
        .filter(pl.col("timestamp") >= pl.col("exposed_at"))
        .filter(pl.lit(True) if until is None else pl.col("timestamp") <= until)
        .with_columns(
            revenue=pl.when(pl.col("event_type") == "purchase")
            .then(pl.col("price").fill_null(0.0) * pl.col("quantity").fill_null(1))
            .otherwise(0.0)
        )
    )
    per_unit = after.group_by(column).agg(
        views=(pl.col("event_type") == "view").sum(),
        clicks=(pl.col("event_type") == "click").sum(),
        carted=(pl.col("event_type") == "add_to_cart").any(),
        converted=(pl.col("event_type") == "purchase").any(),
        revenue=pl.col("revenue").sum(),
    )
    per_unit = exposed.join(per_unit, left_on="unit_id", right_on=column, how="left").fill_null(0)
    counts: dict[str, ArmCounts] = {}
    for name in arm_names:
        rows = per_unit.filter(pl.col("arm") == name)
        counts[name] = ArmCounts(
            visitors=rows.height,
            views=int(rows["views"].sum()),
            clicks=int(rows["clicks"].sum()),
            carted=int(rows["carted"].cast(pl.Int64).sum()),
            converted=int(rows["converted"].cast(pl.Int64).sum()),
            revenue=rows["revenue"].cast(pl.Float64).to_numpy(),
        )
    return counts


def compare(control: tuple[int, int], treated: tuple[int, int], confidence: float) -> tuple[Interval, float]:
    """The treated minus control difference of two proportions with its (unpooled) normal interval, and
    the two-sided p-value of the pooled two-proportion z-test."""
    (a, n_a), (b, n_b) = control, treated
    if n_a == 0 or n_b == 0:
        return Interval(estimate=0.0, low=-1.0, high=1.0), 1.0
    p_a, p_b = a / n_a, b / n_b
    spread = math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    half = norm.ppf(0.5 + confidence / 2) * spread
    pooled = (a + b) / (n_a + n_b)
    null_spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    p_value = 1.0 if null_spread == 0 else float(2 * norm.sf(abs(p_b - p_a) / null_spread))
    return Interval(estimate=p_b - p_a, low=p_b - p_a - half, high=p_b - p_a + half), p_value


def results(experiment: Experiment, counts: Mapping[str, ArmCounts]) -> ExperimentResults:
    """Per-arm metrics and the decision: "too early" until every arm has `horizon_per_arm` visitors;
    then ship the treated arm with the largest positive difference whose test rejects at alpha
    (Bonferroni-divided by the number of treated arms), keep the control otherwise."""
    confidence = 1 - experiment.alpha
    control = experiment.arms[0].name
    metric = experiment.metric
    rows: list[ArmResult] = []
    for arm in experiment.arms:
        seen = counts[arm.name]
        difference, p_value = (
            (None, None)
            if arm.name == control
            else compare(counts[control].proportion(metric), seen.proportion(metric), confidence)
        )
        rows.append(
            ArmResult(
                arm=arm.name,
                visitors=seen.visitors,
                click_through=wilson(*seen.proportion("click_through"), confidence),
                add_to_cart_rate=wilson(seen.carted, seen.visitors, confidence),
                conversion=wilson(seen.converted, seen.visitors, confidence),
                revenue_per_visitor=mean_interval(seen.revenue, confidence),
                difference=difference,
                p_value=p_value,
            )
        )
    short = [row.arm for row in rows if row.visitors < experiment.horizon_per_arm]
    if short:
        reason = (
            f"too early: every arm needs {experiment.horizon_per_arm} visitors before a verdict "
            f"(fixed horizon); short: {short}"
        )
        return ExperimentResults(
            experiment=experiment, arms=rows, confidence=confidence, decision="too early", reason=reason
        )
    threshold = experiment.alpha / (len(rows) - 1)
    winners = [
        row
        for row in rows[1:]
        if row.p_value is not None
        and row.p_value < threshold
        and row.difference
        and row.difference.estimate > 0
    ]
    if not winners:
        reason = f"no treated arm beats {control} on {metric} at alpha {threshold:g} (two-sided)"
        return ExperimentResults(
            experiment=experiment, arms=rows, confidence=confidence, decision="keep control", reason=reason
        )
    best = max(winners, key=lambda row: row.difference.estimate if row.difference else 0.0)
    lift = best.difference.estimate if best.difference else 0.0
    reason = f"{best.arm} beats {control} on {metric} by {lift:+.4f} (p = {best.p_value:.3g} < {threshold:g})"
    return ExperimentResults(
        experiment=experiment,
        arms=rows,
        confidence=confidence,
        decision="ship",
        winner=best.arm,
        reason=reason,
    )
