"""`shelfwise evaluate ope` on a small generated folder in the Open Bandit Dataset's layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from shelfwise.cli.main import app
from shelfwise.policy.thompson import action_distribution

runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})

ITEMS, SLOTS, ROUNDS = 5, 2, 6000
CLICK_RATE = np.array([[0.02, 0.01], [0.04, 0.02], [0.06, 0.03], [0.2, 0.1], [0.3, 0.15]])  # [item, slot]
ALPHA = [1.0, 2.0, 2.0, 20.0, 30.0]
BETA = [50.0, 50.0, 40.0, 60.0, 60.0]
SIMULATIONS = 3000


def write_logs(path: Path, item: np.ndarray, slot: np.ndarray, propensity: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    users = rng.choice(["u1", "u2", "u3"], len(item))
    clicks = (rng.random(len(item)) < CLICK_RATE[item, slot]).astype(int)
    path.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(
        {
            "timestamp": ["2019-11-24 00:00:00+00:00"] * len(item),
            "item_id": item,
            "position": slot + 1,
            "click": clicks,
            "propensity_score": propensity,
            "user_feature_0": users,
        }
    ).with_row_index("").write_csv(path)
    pl.DataFrame(
        {
            "item_id": np.arange(ITEMS),
            "item_feature_0": np.linspace(-1, 1, ITEMS),
            "item_feature_1": ["a", "b", "a", "c", "c"],
        }
    ).with_row_index("").write_csv(path.parent / "item_context.csv")


def open_bandit_folder(root: Path) -> tuple[Path, float]:
    """random/ logged uniformly, bts/ logged by the Thompson policy of prior_bts.yaml; returns the folder
    and the Thompson policy's expected click rate per round."""
    (root / "prior_bts.yaml").parent.mkdir(parents=True, exist_ok=True)
    (root / "prior_bts.yaml").write_text(f"demo:\n  alpha: {ALPHA}\n  beta: {BETA}\n", encoding="utf-8")
    rng = np.random.default_rng(0)
    slot = rng.integers(0, SLOTS, ROUNDS)
    item = rng.integers(0, ITEMS, ROUNDS)
    write_logs(root / "random" / "demo" / "demo.csv", item, slot, np.full(ROUNDS, 1 / ITEMS), seed=1)
    policy = action_distribution(np.array(ALPHA), np.array(BETA), SLOTS, n_sim=SIMULATIONS, seed=12345)
    shown = np.array([rng.choice(ITEMS, p=policy[:, k]) for k in slot])
    write_logs(root / "bts" / "demo" / "demo.csv", shown, slot, policy[shown, slot], seed=2)
    return root, float(np.mean(np.sum(policy * CLICK_RATE, axis=0)))


def test_the_json_line_holds_truth_and_every_estimator(tmp_path: Path) -> None:
    folder, expected = open_bandit_folder(tmp_path / "obd")
    arguments = ["--data", str(folder), "--campaign", "demo", "--n-sim", str(SIMULATIONS)]
    result = runner.invoke(
        app, ["evaluate", "ope", *arguments, "--n-bootstrap", "200", "--runs", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    bts_clicks = pl.read_csv(folder / "bts" / "demo" / "demo.csv").get_column("click").mean()
    assert figures["truth"] == pytest.approx(bts_clicks)
    assert figures["rounds"] == ROUNDS
    assert figures["published_source"] is None  # obp publishes figures for its "all" campaign only
    for name in ("ipw", "snipw", "dm", "dr"):
        row = figures["estimators"][name]
        assert row["ci_low"] <= row["estimate"] <= row["ci_high"], name
        assert row["relative_error"] == pytest.approx(
            abs(row["estimate"] - figures["truth"]) / figures["truth"]
        )
        assert row["runs_relative_error_mean"] >= 0 and row["runs_relative_error_std"] >= 0
        assert row["published_relative_error_mean"] is None
    for name in ("ipw", "snipw", "dr"):
        row = figures["estimators"][name]
        assert row["ci_low"] <= expected <= row["ci_high"], name


def test_the_table_names_each_estimator(tmp_path: Path) -> None:
    folder, _ = open_bandit_folder(tmp_path / "obd")
    arguments = [
        "--data",
        str(folder),
        "--campaign",
        "demo",
        "--n-sim",
        "500",
        "--n-bootstrap",
        "20",
        "--runs",
        "0",
    ]
    result = runner.invoke(app, ["evaluate", "ope", *arguments])
    assert result.exit_code == 0, result.output
    assert "truth" in result.stdout
    for name in ("ipw", "snipw", "dm", "dr", "sndr"):
        assert f"│ {name} " in result.stdout


def test_a_missing_column_or_campaign_is_reported_by_file(tmp_path: Path) -> None:
    folder, _ = open_bandit_folder(tmp_path / "obd")
    result = runner.invoke(app, ["evaluate", "ope", "--data", str(folder), "--campaign", "men"])
    assert result.exit_code == 1
    assert "bts/men/men.csv does not exist" in result.output
    logs = folder / "random" / "demo" / "demo.csv"
    pl.read_csv(logs).drop("propensity_score").write_csv(logs)
    result = runner.invoke(
        app, ["evaluate", "ope", "--data", str(folder), "--campaign", "demo", "--runs", "0"]
    )
    assert result.exit_code == 1
    assert "demo.csv lacks column(s) propensity_score" in result.output
