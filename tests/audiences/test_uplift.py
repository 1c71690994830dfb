from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from campaign_data import campaign_frame
from shelfwise.audiences.campaign_test import campaign_test
from shelfwise.audiences.uplift import CampaignTargeting, UpliftConfig
from shelfwise.evaluation.uplift_eval import evaluate_uplift


@pytest.mark.parametrize("learner", ["two-model", "class-transformation"])
def test_each_customer_gets_the_campaign_that_works_on_them(learner: str) -> None:
    data = campaign_test(campaign_frame())
    model = CampaignTargeting(UpliftConfig(learner=learner))  # type: ignore[arg-type]
    model.fit(data.features, data.arms, data.outcome, data.control)
    chosen, uplift = model.choose(data.features)
    mens = data.features[:, data.feature_names.index("mens")] == 1
    expected = np.where(mens, "Mens E-Mail", "Womens E-Mail")
    recent = data.features[:, data.feature_names.index("recency")] <= 4
    assert (np.asarray(chosen)[recent] == expected[recent]).mean() > 0.95
    # The true uplift of the right campaign is 0.3 on recent customers and 0 on the others.
    assert np.median(uplift[recent]) > 0.15
    assert np.median(uplift[~recent]) < 0.05


def test_outcomes_measured_after_the_test_are_never_features() -> None:
    data = campaign_test(campaign_frame(n=50))
    assert not {"visit", "conversion", "spend", "segment", "row_id"} & set(data.feature_names)
    assert "zip_code=Urban" in data.feature_names


def test_the_evaluation_finds_the_planted_uplift_and_random_does_not() -> None:
    evaluation = evaluate_uplift(campaign_test(campaign_frame()), seed=1)
    default, *_, random = evaluation.rows
    assert default.name == "two-model, best campaign"
    assert random.name == "random"
    assert default.metrics.qini > 0.3
    assert abs(random.metrics.qini) < 0.1
    # The top 30% are about the third that responds (0.3 more conversions); at random a third of the
    # customers can respond and half of them get the right campaign: 0.05.
    assert default.metrics.uplift_at_30 > 0.2
    assert random.metrics.uplift_at_30 == pytest.approx(0.05, abs=0.03)
    low, high = default.metrics.qini_interval
    assert low <= default.metrics.qini <= high


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"segment": None}, "missing column"),
        ({"conversion": 2}, "must hold only 0 and 1"),
    ],
)
def test_a_broken_campaign_test_is_refused(change: dict[str, object], message: str) -> None:
    frame = campaign_frame(n=30)
    for column, value in change.items():
        frame = frame.drop(column) if value is None else frame.with_columns(pl.lit(value).alias(column))
    with pytest.raises(ValueError, match=message):
        campaign_test(frame)
