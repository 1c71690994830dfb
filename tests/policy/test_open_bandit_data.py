"""The Open Bandit Dataset sample in ../shared/data: our Thompson policy and estimators reproduce obp's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.policy.estimators import estimate
from shelfwise.policy.open_bandit import campaign_log, check_open_bandit, item_features, logged_bandit
from shelfwise.policy.thompson import action_distribution, zozotown_prior

pytestmark = [pytest.mark.shared_data]


def sample_folder(shared_data: Path) -> Path:
    folder = shared_data / "open-bandit-sample"
    if not (folder / "random" / "all" / "all.csv").is_file():
        pytest.skip(f"shared data absent: no Open Bandit Dataset sample at {folder}")
    return folder


def test_ipw_over_the_random_policy_s_click_rate_is_obp_s_quickstart_figure(shared_data: Path) -> None:
    # zr-obp's README quickstart: BernoulliTS(is_zozotown_prior=True, campaign="all", random_state=12345),
    # compute_batch_action_dist(n_sim=100000), IPW on the random logs / their click rate = 1.198126...
    folder = sample_folder(shared_data)
    path = folder / "random" / "all" / "all.csv"
    log = logged_bandit(campaign_log(folder, "random", "all"), len(item_features(folder, "all")), path)
    alpha, beta = zozotown_prior(folder / "prior_bts.yaml", "all")
    policy = action_distribution(alpha, beta, log.n_positions, n_sim=100_000, seed=12345)
    value = estimate(log.evaluated_by(policy), ("ipw",), n_bootstrap=1)["ipw"].value
    assert value / log.on_policy_value() == pytest.approx(1.1981263, abs=1e-7)


@pytest.mark.slow
def test_the_check_on_the_sample_reports_every_estimator_against_the_thompson_logs(shared_data: Path) -> None:
    check = check_open_bandit(sample_folder(shared_data), "all", n_bootstrap=200, runs=2)
    assert check.truth == pytest.approx(0.0042)  # 42 clicks in 10,000 Thompson rounds
    assert check.rounds == 10_000
    figures = check.estimators
    # Single-run figures of obp 0.5.7 on this sample (SOURCE.txt): IPW 0.004553, SNIPW 0.004776, and, with
    # its click model (a logistic regression per slot, scikit-learn 1.7 there), DM 0.003531, DR 0.004835.
    assert figures["ipw"].full_data_estimate == pytest.approx(0.004553, abs=5e-7)
    assert figures["snipw"].full_data_estimate == pytest.approx(0.004776, abs=5e-7)
    assert figures["dm"].full_data_estimate == pytest.approx(0.003531, rel=0.01)
    assert figures["dr"].full_data_estimate == pytest.approx(0.004835, rel=0.01)
    for name, row in figures.items():
        assert row.ci_low <= row.estimate <= row.ci_high, name
        assert row.published_relative_error_mean is not None, name
        assert row.runs_relative_error_mean is not None, name
        assert np.isfinite(row.relative_error)
    assert figures["ipw"].ci_low <= check.truth <= figures["ipw"].ci_high
