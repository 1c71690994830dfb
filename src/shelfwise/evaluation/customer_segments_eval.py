"""How well the customer segments and the BG/NBD model predict each customer's purchases in a hold-out
period, next to RFM quintiles alone, on a transactions file such as CDNOW's.

Every predictor sees the calibration weeks only. The engine's default is BG/NBD's expected purchases
given each customer's history. Segment tables predict as a merchant's RFM table does: every customer of a
group buys at the group's calibration rate (its repeat purchases per week observed) for the whole
hold-out. Purchases are days with a purchase, as BG/NBD counts them.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from pydantic import BaseModel
from scipy.stats import spearmanr

from shelfwise.customer_segments.bgnbd import expected_purchases, fit_bgnbd
from shelfwise.customer_segments.rfm import (
    DAYS_PER_UNIT,
    customer_summary,
    purchase_days_between,
    rfm_scores,
    rfm_segment_of,
)

TRANSACTION_FILE_COLUMNS = ("customer_id", "date", "number_of_cds", "dollar_value")


class PredictionRow(BaseModel):
    name: str
    model: str
    metrics: dict[str, float]


class SegmentEvaluation(BaseModel):
    protocol: str
    customers: int
    calibration: tuple[date, date]
    holdout: tuple[date, date]
    bgnbd: dict[str, float]
    rows: list[PredictionRow]


def read_transactions(path: Path) -> pl.DataFrame:
    """customer_id, day, amount from a CSV of customer_id, date (YYYYMMDD), number_of_cds, dollar_value;
    ValueError naming the file and what is wrong with it."""
    try:
        frame = pl.read_csv(path, schema_overrides={"customer_id": pl.Utf8, "date": pl.Utf8})
    except (pl.exceptions.PolarsError, UnicodeDecodeError, OSError) as error:
        raise ValueError(f"cannot read transactions file {path}: {error}") from error
    missing = [name for name in TRANSACTION_FILE_COLUMNS if name not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} lacks the column(s) {', '.join(missing)}; expected {', '.join(TRANSACTION_FILE_COLUMNS)}"
        )
    if frame.is_empty():
        raise ValueError(f"{path} has no transactions")
    days = frame.get_column("date").str.strip_chars().str.to_date("%Y%m%d", strict=False)
    amounts = frame.get_column("dollar_value").cast(pl.Float64, strict=False)
    bad = (days.is_null() | amounts.is_null() | frame.get_column("customer_id").is_null()).arg_true()
    if len(bad):
        line = int(bad[0]) + 2  # the header is line 1
        raise ValueError(
            f"{path} line {line}: a customer_id, a date as YYYYMMDD and a numeric dollar_value are needed "
            f"({len(bad)} row(s) lack one)"
        )
    return pl.DataFrame({"customer_id": frame.get_column("customer_id"), "day": days, "amount": amounts})


def evaluate_segments(
    transactions: pl.DataFrame, calibration_weeks: int = 39, holdout_weeks: int = 39
) -> SegmentEvaluation:
    """Fit on the first `calibration_weeks` (from the first transaction), score the next `holdout_weeks`."""
    start = transactions.get_column("day").min()
    assert isinstance(start, date)
    calibration_end = start + timedelta(weeks=calibration_weeks) - timedelta(days=1)
    holdout_end = calibration_end + timedelta(weeks=holdout_weeks)
    summary = customer_summary(transactions, calibration_end)
    actual_frame = summary.select("customer_id").join(
        purchase_days_between(transactions, calibration_end + timedelta(days=1), holdout_end),
        on="customer_id",
        how="left",
    )
    actual = actual_frame.get_column("purchases").fill_null(0).to_numpy().astype(np.float64)
    x, t_x, age = (summary.get_column(name).to_numpy() for name in ("frequency", "recency", "age"))
    horizon = holdout_weeks * 7 / DAYS_PER_UNIT
    params = fit_bgnbd(x, t_x, age)
    scores = rfm_scores(summary)
    predictions = {
        ("default", "bg-nbd"): expected_purchases(params, horizon, x, t_x, age),
        ("rfm-segments", "rate per RFM segment"): group_rate(
            rfm_segment_of(scores.recency, scores.frequency), x, age, horizon
        ),
        ("rfm-quintiles", "rate per R-F-M cell"): group_rate(scores.cells(), x, age, horizon),
        ("own-rate", "own calibration rate"): np.where(age > 0, x / np.maximum(age, 1e-9), 0) * horizon,
    }
    rows = [
        PredictionRow(name=name, model=model, metrics=prediction_metrics(predicted, actual))
        for (name, model), predicted in predictions.items()
    ]
    return SegmentEvaluation(
        protocol=(
            f"calibration weeks 1-{calibration_weeks} ({start}..{calibration_end}), hold-out weeks "
            f"{calibration_weeks + 1}-{calibration_weeks + holdout_weeks} (..{holdout_end}); customers "
            "with a purchase in calibration; purchases = days with a purchase"
        ),
        customers=summary.height,
        calibration=(start, calibration_end),
        holdout=(calibration_end + timedelta(days=1), holdout_end),
        bgnbd={**params.as_dict(), "log_likelihood": params.log_likelihood},
        rows=rows,
    )


def group_rate(groups: np.ndarray, frequency: np.ndarray, age: np.ndarray, horizon: float) -> np.ndarray:
    """Each customer's group's pooled repeat purchases per week in calibration, times `horizon`."""
    _, index = np.unique(groups, return_inverse=True)
    repeats = np.bincount(index, weights=frequency)
    observed = np.bincount(index, weights=age)
    rates = np.divide(repeats, observed, out=np.zeros_like(repeats), where=observed > 0)
    return np.asarray(rates[index] * horizon)


def prediction_metrics(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    correlation = spearmanr(predicted, actual).statistic if np.ptp(predicted) > 0 else 0.0
    return {
        "mae_purchases": round(float(np.mean(np.abs(predicted - actual))), 4),
        "spearman": round(float(correlation), 4),
        "mean_predicted": round(float(predicted.mean()), 4),
        "mean_actual": round(float(actual.mean()), 4),
    }
