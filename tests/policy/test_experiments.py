"""A/B experiment statistics: stable assignment that honours the shares, the fixed-horizon sample size,
metrics on a hand-made event log, and the decision rule before and after the horizon."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from shelfwise.domain.experiments import Arm, Experiment, ExperimentSpec
from shelfwise.io.frames import EVENT_FRAME_SCHEMA
from shelfwise.policy.experiments import ArmCounts, choose_arm, count_arms, horizon_per_arm, results

ARMS = [Arm(name="control", share=0.5), Arm(name="b", share=0.3), Arm(name="c", share=0.2)]


def test_assignment_is_stable_and_follows_the_shares() -> None:
    ids = [f"user-{n}" for n in range(10_000)]
    first = [choose_arm("exp1", unit, ARMS) for unit in ids]
    assert first == [choose_arm("exp1", unit, ARMS) for unit in ids]
    shares = Counter(first)
    for arm in ARMS:
        assert abs(shares[arm.name] / len(ids) - arm.share) < 0.015, shares
    other = [choose_arm("exp2", unit, ARMS) for unit in ids]
    assert 0.3 < np.mean([a == b for a, b in zip(first, other, strict=True)]) < 0.5  # independent splits


def test_horizon_matches_the_hand_computed_power_formula() -> None:
    # p1 = .05, p2 = .06, alpha .05 two-sided, power .8:
    # (1.95996 * sqrt(2 * .055 * .945) + .84162 * sqrt(.0475 + .0564))**2 / .01**2 = 8157.7 -> 8158
    assert horizon_per_arm(0.05, 0.01, 0.05, 0.8) == 8158
    assert horizon_per_arm(0.05, 0.02, 0.05, 0.8) < horizon_per_arm(0.05, 0.01, 0.05, 0.9)


@pytest.mark.parametrize(
    ("arms", "message"),
    [
        ([Arm(name="a", share=0.5), Arm(name="b", share=0.4)], "sum to 1"),
        ([Arm(name="a", share=0.5), Arm(name="a", share=0.5)], "repeated: ['a']"),
    ],
)
def test_bad_arms_are_refused(arms: list[Arm], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ExperimentSpec(name="x", arms=arms)


T0 = datetime(2026, 1, 1, 12)


def _event(
    user: str, kind: str, minutes: int, price: float | None = None, quantity: int = 1
) -> dict[str, object]:
    return {
        "user_id": user,
        "session_id": f"s-{user}",
        "event_type": kind,
        "product_id": "p",
        "query": None,
        "timestamp": T0 + timedelta(minutes=minutes),
        "quantity": quantity,
        "price": price,
        "request_id": None,
        "event_id": None,
    }


def test_metrics_count_only_what_exposed_units_did_after_exposure() -> None:
    events = pl.DataFrame(
        [
            _event("a1", "purchase", -5, 100.0),  # before exposure: not the arm's doing
            _event("a1", "view", 1),
            _event("a1", "click", 2),
            _event("a2", "view", 1),
            _event("b1", "view", 1),
            _event("b1", "click", 2),
            _event("b1", "add_to_cart", 3),
            _event("b1", "purchase", 4, 20.0, 2),
            _event("stranger", "purchase", 4, 999.0),
        ],
        schema=EVENT_FRAME_SCHEMA,
        orient="row",
    )
    exposures = {"a1": ("A", T0), "a2": ("A", T0), "b1": ("B", T0), "b2": ("B", T0)}
    counts = count_arms(events, "user", exposures, ["A", "B"])
    assert (counts["A"].visitors, counts["A"].views, counts["A"].clicks, counts["A"].converted) == (
        2,
        2,
        1,
        0,
    )
    assert (counts["B"].visitors, counts["B"].carted, counts["B"].converted) == (2, 1, 1)
    assert sorted(counts["B"].revenue.tolist()) == [0.0, 40.0]
    assert counts["A"].revenue.tolist() == [0.0, 0.0]
    stopped = count_arms(events, "user", exposures, ["A", "B"], until=T0 + timedelta(minutes=3))
    assert (stopped["B"].carted, stopped["B"].converted) == (1, 0)  # the purchase came after the stop


def _experiment(horizon: int) -> Experiment:
    return Experiment(
        name="t",
        arms=[Arm(name="A", share=0.5), Arm(name="B", share=0.5)],
        experiment_id="e",
        horizon_per_arm=horizon,
        created_at=datetime.now(UTC),
    )


def _counts(visitors: int, converted: int) -> ArmCounts:
    return ArmCounts(visitors, 0, 0, 0, converted, np.zeros(visitors))


def test_no_verdict_before_the_horizon_then_ship_only_a_significant_gain() -> None:
    strong = {"A": _counts(1000, 50), "B": _counts(1000, 90)}
    early = results(_experiment(2000), strong)
    assert early.decision == "too early" and "2000" in early.reason
    shipped = results(_experiment(1000), strong)
    assert shipped.decision == "ship" and shipped.winner == "B"
    difference = shipped.arms[1].difference
    assert difference is not None and difference.low > 0 and abs(difference.estimate - 0.04) < 1e-12
    assert (
        results(_experiment(1000), {"A": _counts(1000, 50), "B": _counts(1000, 55)}).decision
        == "keep control"
    )
    worse = results(_experiment(1000), {"A": _counts(1000, 90), "B": _counts(1000, 50)})
    assert worse.decision == "keep control" and worse.winner is None
    conversion = shipped.arms[0].conversion
    assert conversion.low < 0.05 < conversion.high
