"""Recency, frequency and monetary value per customer, their quintile scores, and the named RFM segments.

A customer's purchases on one day count as one purchase (as in the BG/NBD literature: an order split into
several rows is one visit). Times are in weeks, counted from the customer's first purchase as BG/NBD wants
them: `frequency` repeat purchases, `recency` the time of the last one, `age` the time observed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
from scipy.stats import rankdata

DAYS_PER_UNIT = 7.0
TRANSACTION_COLUMNS = ("customer_id", "day", "amount")


def customer_summary(transactions: pl.DataFrame, end: date) -> pl.DataFrame:
    """One row per customer with a purchase on or before `end`, from `transactions` (customer_id: str,
    day: date, amount: float): customer_id, purchases (days with a purchase), frequency (repeat
    purchases), recency and age (weeks from the first purchase to the last one and to `end`), idle (weeks
    since the last purchase), monetary (mean spend per purchase day), spend (total)."""
    missing = [name for name in TRANSACTION_COLUMNS if name not in transactions.columns]
    if missing:
        raise ValueError(f"transactions lack the column(s) {', '.join(missing)}")
    days = (
        transactions.filter(pl.col("day") <= end)
        .group_by("customer_id", "day")
        .agg(pl.col("amount").sum())
        .group_by("customer_id")
        .agg(
            purchases=pl.len(),
            first=pl.col("day").min(),
            last=pl.col("day").max(),
            spend=pl.col("amount").sum(),
        )
    )
    weeks = DAYS_PER_UNIT
    return days.select(
        "customer_id",
        "purchases",
        frequency=pl.col("purchases") - 1,
        recency=(pl.col("last") - pl.col("first")).dt.total_days() / weeks,
        age=(pl.lit(end) - pl.col("first")).dt.total_days() / weeks,
        idle=(pl.lit(end) - pl.col("last")).dt.total_days() / weeks,
        monetary=pl.col("spend") / pl.col("purchases"),
        spend=pl.col("spend"),
    ).sort("customer_id")


def purchase_days_between(transactions: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """customer_id, purchases: the days each customer bought on, from `start` to `end` inclusive."""
    return (
        transactions.filter(pl.col("day").is_between(start, end))
        .select("customer_id", "day")
        .unique()
        .group_by("customer_id")
        .agg(purchases=pl.len())
    )


def quintiles(values: np.ndarray) -> np.ndarray:
    """Scores 1..5 by rank (5: the top fifth); tied values share a score, so a score may hold more or
    fewer than a fifth of the customers."""
    values = np.asarray(values, dtype=np.float64)
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    ranks = rankdata(values, method="average")
    return np.minimum(5, 1 + np.floor(5 * (ranks - 0.5) / len(values))).astype(np.int64)


@dataclass(frozen=True)
class RfmScores:
    """Quintile scores per customer: recency (5: bought most recently), frequency, monetary."""

    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray

    def cells(self) -> np.ndarray:
        """The 125 R-F-M cells as one number 111..555."""
        return self.recency * 100 + self.frequency * 10 + self.monetary


def rfm_scores(summary: pl.DataFrame) -> RfmScores:
    return RfmScores(
        recency=quintiles(-summary.get_column("idle").to_numpy()),
        frequency=quintiles(summary.get_column("purchases").to_numpy()),
        monetary=quintiles(summary.get_column("monetary").to_numpy()),
    )


# The named segments, by recency and frequency scores, in the order they are shown. Each entry: id, name,
# what it means to a merchant, and the test on (R, F).
RFM_SEGMENTS: tuple[tuple[str, str, str], ...] = (
    ("rfm-champions", "Champions", "bought recently and often"),
    ("rfm-loyal", "Loyal", "buy often, fairly recently"),
    ("rfm-promising", "Promising", "bought recently, few times so far"),
    ("rfm-needs-attention", "Needs attention", "bought a while ago, not often"),
    ("rfm-at-risk", "At risk", "bought often, but not for a long time"),
    ("rfm-hibernating", "Hibernating", "bought rarely, long ago"),
)
BROWSERS = ("rfm-browsers", "Browsers", "active, but never bought")


def rfm_segment_of(recency: np.ndarray, frequency: np.ndarray) -> np.ndarray:
    """The index into RFM_SEGMENTS of each customer, from their recency and frequency scores."""
    r, f = np.asarray(recency), np.asarray(frequency)
    conditions = [
        (r >= 4) & (f >= 4),
        (r >= 3) & (f >= 3),
        (r >= 4),
        (r == 3),
        (f >= 3),
    ]
    return np.select(conditions, list(range(len(conditions))), default=len(conditions)).astype(np.int64)
