"""BG/NBD: the published CDNOW parameters reproduced, and the model's predictions behaving as it says."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from shelfwise.cli.main import app
from shelfwise.customer_segments.bgnbd import (
    BetaGeoParameters,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
)
from shelfwise.customer_segments.rfm import customer_summary, quintiles, rfm_segment_of
from shelfwise.evaluation.customer_segments_eval import evaluate_segments, read_transactions

PUBLISHED = BetaGeoParameters(r=0.243, alpha=4.414, a=0.793, b=2.426)  # Fader, Hardie & Lee (2005)


def cdnow(shared_data: Path, name: str) -> Path:
    path = shared_data / "cdnow-rfm" / name
    if not path.is_file():
        pytest.skip(f"shared data absent: no {path} (set SHELFWISE_DATA to the folder holding cdnow-rfm/)")
    return path


@pytest.mark.shared_data
def test_the_fit_on_the_cdnow_sample_reproduces_the_published_parameters(shared_data: Path) -> None:
    summary = pl.read_csv(cdnow(shared_data, "cdnow_customers_summary.csv"))
    fitted = fit_bgnbd(*(summary.get_column(c).to_numpy() for c in ("frequency", "recency", "T")))
    for name, published in PUBLISHED.as_dict().items():
        assert round(getattr(fitted, name), 3) == published, name
    assert round(fitted.log_likelihood, 1) == -9582.4


@pytest.mark.shared_data
def test_the_summary_of_the_raw_sample_transactions_gives_the_published_parameters(shared_data: Path) -> None:
    lines = Path(cdnow(shared_data, "CDNOW_sample.txt")).read_text().split("\n")
    rows = [line.split() for line in lines if line.strip()]
    transactions = pl.DataFrame(
        {
            "customer_id": [row[1] for row in rows],
            "day": [date(int(r[2][:4]), int(r[2][4:6]), int(r[2][6:])) for r in rows],
            "amount": [float(row[4]) for row in rows],
        }
    )
    assert transactions.height == 6919
    summary = customer_summary(transactions, date(1997, 9, 30))
    assert summary.height == 2357
    fitted = fit_bgnbd(*(summary.get_column(c).to_numpy() for c in ("frequency", "recency", "age")))
    assert fitted.as_dict() == pytest.approx(PUBLISHED.as_dict(), rel=0.01)


def test_expected_purchases_rise_with_frequency_and_fall_with_time_since_the_last_purchase() -> None:
    x = np.array([0, 2, 6, 6])
    t_x = np.array([0.0, 30.0, 30.0, 5.0])
    age = np.full(4, 38.0)
    expected = expected_purchases(PUBLISHED, 39, x, t_x, age)
    assert expected[0] < expected[1] < expected[2]
    assert expected[3] < expected[2]  # six purchases, then silence for 33 weeks: probably gone
    alive = probability_alive(PUBLISHED, x, t_x, age)
    assert alive[0] == 1.0 and alive[3] < 0.1 < alive[2]
    assert expected_purchases(PUBLISHED, 78, x, t_x, age) == pytest.approx(2 * expected, rel=0.6)
    assert (expected_purchases(PUBLISHED, 78, x, t_x, age) > expected).all()


def test_a_fit_on_simulated_customers_recovers_their_parameters() -> None:
    rng = np.random.default_rng(3)
    true = BetaGeoParameters(r=0.5, alpha=5.0, a=1.5, b=4.0)
    n, age = 6000, 40.0
    rates = rng.gamma(true.r, 1 / true.alpha, n)
    drop = rng.beta(true.a, true.b, n)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / rates[i])
            if t > age:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.random() < drop[i]:
                break
    fitted = fit_bgnbd(x, t_x, np.full(n, age))
    assert fitted.r == pytest.approx(true.r, rel=0.2)
    assert fitted.alpha == pytest.approx(true.alpha, rel=0.3)


def test_fitting_refuses_inputs_it_cannot_fit() -> None:
    with pytest.raises(ValueError, match="at least one customer"):
        fit_bgnbd(np.array([]), np.array([]), np.array([]))
    with pytest.raises(ValueError, match="frequency >= 0"):
        fit_bgnbd(np.array([-1]), np.array([0.0]), np.array([3.0]))


def test_quintiles_split_by_rank_and_keep_ties_together() -> None:
    assert quintiles(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    tied = quintiles(np.array([0, 0, 0, 0, 0, 0, 1, 2, 3, 4]))
    assert len(set(tied[:6].tolist())) == 1
    names = rfm_segment_of(np.array([5, 3, 5, 3, 1, 1]), np.array([5, 3, 1, 1, 5, 1]))
    assert names.tolist() == [0, 1, 2, 3, 4, 5]


def transactions_csv(path: Path, rows: list[tuple[str, str, int, float]]) -> Path:
    path.write_text(
        "customer_id,date,number_of_cds,dollar_value\n" + "".join(f"{c},{d},{n},{v}\n" for c, d, n, v in rows)
    )
    return path


def simulated_shop(path: Path) -> Path:
    """Frequent buyers keep buying after week 39, one-time buyers do not."""
    start, rows = date(1997, 1, 1), []
    for customer in range(60):
        every = 7 if customer % 3 == 0 else 400
        for day in range(customer % 20, 78 * 7, every):
            rows.append((f"{customer:05d}", (start + timedelta(days=day)).strftime("%Y%m%d"), 1, 10.0))
    return transactions_csv(path, rows)


def test_evaluate_segments_prints_the_default_first_then_its_peers(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["evaluate", "segments", "--transactions", str(simulated_shop(tmp_path / "t.csv")), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    names = [row["name"] for row in figures["rows"]]
    assert names[0] == "default" and "rfm-quintiles" in names
    assert figures["customers"] == 60
    for row in figures["rows"]:
        assert set(row["metrics"]) >= {"mae_purchases", "spearman"}
    assert figures["rows"][0]["metrics"]["spearman"] > 0.8  # who keeps buying is plain here


def test_evaluate_segments_names_the_bad_line(tmp_path: Path) -> None:
    bad = transactions_csv(tmp_path / "bad.csv", [("1", "19970101", 1, 2.0), ("2", "1997-13-01", 1, 2.0)])
    result = CliRunner().invoke(app, ["evaluate", "segments", "--transactions", str(bad), "--json"])
    assert result.exit_code != 0
    assert "line 3" in result.output and "YYYYMMDD" in result.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("user,when\n1,2\n")
    result = CliRunner().invoke(app, ["evaluate", "segments", "--transactions", str(wrong)])
    assert result.exit_code != 0 and "customer_id" in result.output


@pytest.mark.shared_data
def test_on_cdnow_bgnbd_predicts_hold_out_purchases_closer_than_rfm_quintiles(shared_data: Path) -> None:
    evaluation = evaluate_segments(read_transactions(cdnow(shared_data, "cdnow_master_shared.csv")))
    rows = {row.name: row.metrics for row in evaluation.rows}
    assert rows["default"]["mae_purchases"] < rows["rfm-quintiles"]["mae_purchases"]
    assert evaluation.customers == 12982
