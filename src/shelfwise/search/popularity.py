"""Product popularity from events, as the search ranker's features read it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from shelfwise.domain import Product
from shelfwise.domain.events import EVENT_WEIGHTS


def popularity_of(products: Sequence[Product], events: pl.DataFrame) -> np.ndarray:
    """Weighted event count per product (views 1 ... purchases 5), in product order."""
    counts = np.zeros(len(products), dtype=np.float32)
    if events.is_empty():
        return counts
    weights = {kind.value: weight for kind, weight in EVENT_WEIGHTS.items()}
    grouped = (
        events.filter(pl.col("product_id").is_not_null())
        .with_columns(pl.col("event_type").replace_strict(weights, default=0.0).alias("w"))
        .group_by("product_id")
        .agg(pl.col("w").sum())
    )
    position = {p.product_id: i for i, p in enumerate(products)}
    for product_id, weight in grouped.iter_rows():
        if product_id in position:
            counts[position[product_id]] = weight
    return counts
