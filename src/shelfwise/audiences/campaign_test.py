"""A randomised campaign test as arrays: each customer's features, the arm they were randomised to and
a 0/1 outcome. The column names default to Hillstrom's e-mail test (hillstrom-email-targeting)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

HILLSTROM_TREATMENT = "segment"
HILLSTROM_CONTROL = "No E-Mail"
HILLSTROM_OUTCOMES = ("visit", "conversion", "spend")  # measured after the test: never features
HILLSTROM_IGNORED = ("row_id",)


@dataclass(frozen=True)
class CampaignTest:
    features: np.ndarray  # float64, (customers, features)
    feature_names: tuple[str, ...]
    arms: np.ndarray  # object array of arm names
    outcome: np.ndarray  # int64 0/1
    control: str

    def __len__(self) -> int:
        return len(self.outcome)

    def subset(self, rows: np.ndarray) -> CampaignTest:
        return CampaignTest(
            self.features[rows], self.feature_names, self.arms[rows], self.outcome[rows], self.control
        )


def campaign_test(
    frame: pl.DataFrame,
    *,
    outcome: str = "conversion",
    treatment: str = HILLSTROM_TREATMENT,
    control: str = HILLSTROM_CONTROL,
    outcomes: tuple[str, ...] = HILLSTROM_OUTCOMES,
    ignored: tuple[str, ...] = HILLSTROM_IGNORED,
) -> CampaignTest:
    """Text columns become one 0/1 column per value; every other column but the treatment, the outcomes
    and `ignored` is a numeric feature. ValueError names the column at fault."""
    missing = [name for name in (treatment, outcome) if name not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}; the file has {', '.join(frame.columns)}")
    y = frame.get_column(outcome)
    if y.null_count() or not y.cast(pl.Float64, strict=False).is_in([0.0, 1.0]).all():
        raise ValueError(f"column {outcome!r} must hold only 0 and 1 (the outcome)")
    arms = frame.get_column(treatment).cast(pl.Utf8)
    if arms.null_count():
        raise ValueError(f"column {treatment!r} has empty values: every customer needs an arm")
    if control not in set(arms.to_list()):
        raise ValueError(f"no row of column {treatment!r} is the control arm {control!r}")
    names: list[str] = []
    columns: list[np.ndarray] = []
    skip = {treatment, *outcomes, outcome, *ignored}
    for name in frame.columns:
        if name in skip:
            continue
        column = frame.get_column(name)
        if column.dtype == pl.Utf8:
            for value in sorted(column.drop_nulls().unique().to_list()):
                names.append(f"{name}={value}")
                columns.append((column == value).fill_null(False).to_numpy().astype(np.float64))
        elif column.dtype.is_numeric() or column.dtype == pl.Boolean:
            names.append(name)
            columns.append(column.cast(pl.Float64).fill_null(np.nan).to_numpy())
        else:
            raise ValueError(f"column {name!r} is {column.dtype}: features must be numbers or text")
    if not columns:
        raise ValueError("no feature columns besides the treatment and the outcomes")
    return CampaignTest(
        features=np.column_stack(columns),
        feature_names=tuple(names),
        arms=np.asarray(arms.to_list(), dtype=object),
        outcome=y.cast(pl.Int64).to_numpy(),
        control=control,
    )
