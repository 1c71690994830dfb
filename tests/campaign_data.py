"""A synthetic randomised campaign test in hillstrom-email-targeting's CSV format, whose right answer is
known: "Mens E-Mail" works only on mens buyers, "Womens E-Mail" only on womens buyers, and either only on
customers who bought in the last four months."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

ARMS = ("Mens E-Mail", "Womens E-Mail", "No E-Mail")


def campaign_frame(n: int = 6000, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    mens = rng.integers(0, 2, n)
    arm = rng.integers(0, 3, n)
    recency = rng.integers(1, 13, n)
    right = ((arm == 0) & (mens == 1)) | ((arm == 1) & (mens == 0))
    effect = np.where(right & (recency <= 4), 0.3, 0.0)
    conversion = (rng.random(n) < 0.05 + effect).astype(int)
    return pl.DataFrame(
        {
            "row_id": np.arange(n),
            "recency": recency,
            "history": np.round(rng.gamma(2, 100, n), 2),
            "mens": mens,
            "womens": 1 - mens,
            "zip_code": rng.choice(["Urban", "Surburban", "Rural"], n),
            "segment": [ARMS[a] for a in arm],
            "visit": np.maximum(conversion, rng.integers(0, 2, n)),
            "conversion": conversion,
            "spend": np.round(conversion * rng.gamma(2, 50, n), 2),
        }
    )


def write_campaign_csv(path: Path, **kwargs: int) -> Path:
    campaign_frame(**kwargs).write_csv(path)
    return path
