"""The Bernoulli Thompson sampling policy's slot probabilities, replicated from obp."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shelfwise.domain.errors import InvalidRequestError
from shelfwise.policy import thompson
from shelfwise.policy.thompson import action_distribution, zozotown_prior


def obp_compute_batch_action_dist(
    alpha: list[float], beta: list[float], len_list: int, n_sim: int, seed: int
):
    """obp's BernoulliTS.compute_batch_action_dist for a fresh policy (obp/policy/contextfree.py), written
    out as its loop: one Beta draw per item and round, items ranked by argsort()[::-1]."""
    random = np.random.RandomState(seed)
    reward_counts = np.zeros(len(alpha))
    action_counts = np.zeros(len(alpha), dtype=int)
    counts = np.zeros((len(alpha), len_list))
    for _ in np.arange(n_sim):
        scores = random.beta(a=reward_counts + alpha, b=(action_counts - reward_counts) + beta)
        selected = scores.argsort()[::-1][:len_list]
        for position in np.arange(len_list):
            counts[selected[position], position] += 1
    return counts / n_sim


def test_the_distribution_is_obp_s_draw_for_draw_across_simulation_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(thompson, "SIMULATION_BLOCK", 7)  # 50 rounds in blocks of 7, 7, …, 1
    alpha = [3.0, 1.0, 8.0, 2.0, 5.0]
    beta = [40.0, 9.0, 70.0, 30.0, 22.0]
    ours = action_distribution(np.array(alpha), np.array(beta), n_positions=3, n_sim=50, seed=12345)
    assert np.array_equal(ours, obp_compute_batch_action_dist(alpha, beta, 3, 50, 12345))


def test_each_slot_holds_one_item_and_a_strong_prior_leads() -> None:
    alpha = np.array([1.0, 1.0, 900.0, 1.0])
    beta = np.array([100.0, 100.0, 100.0, 100.0])
    table = action_distribution(alpha, beta, n_positions=2, n_sim=2000, seed=1)
    assert table.shape == (4, 2)
    assert table.sum(axis=0) == pytest.approx([1.0, 1.0])
    assert table[2, 0] == 1.0 and table[2, 1] == 0.0


def test_the_prior_file_names_its_campaigns_when_one_is_missing(tmp_path: Path) -> None:
    prior = tmp_path / "prior_bts.yaml"
    prior.write_text("all:\n  alpha: [1.0, 2.0]\n  beta: [3.0, 4.0]\n", encoding="utf-8")
    alpha, beta = zozotown_prior(prior, "all")
    assert alpha.tolist() == [1.0, 2.0] and beta.tolist() == [3.0, 4.0]
    with pytest.raises(InvalidRequestError, match="no prior for campaign 'men' \\(it has: all\\)"):
        zozotown_prior(prior, "men")


def test_bad_priors_are_refused() -> None:
    with pytest.raises(InvalidRequestError, match="positive"):
        action_distribution(np.array([1.0, 0.0]), np.array([1.0, 1.0]), n_positions=1)
    with pytest.raises(InvalidRequestError, match=r"n_positions must lie in 1\.\.2"):
        action_distribution(np.array([1.0, 1.0]), np.array([1.0, 1.0]), n_positions=3)
