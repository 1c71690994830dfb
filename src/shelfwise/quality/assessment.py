"""The quality gate over what is stored, as training sees it: the dataset checks, the report, and which
stored events to leave out of training (bots, duplicates, unknown products, bad timestamps)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from shelfwise.domain import Product
from shelfwise.quality.checks.catalog import catalog_warnings, check_catalog, products_frame
from shelfwise.quality.checks.events import check_events, event_warnings, events_frame, normalise_frame
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.flags import Flags
from shelfwise.quality.gate import GatedFile
from shelfwise.quality.report import QualityReport, WarningItem, check_counts
from shelfwise.quality.reporting import figures
from shelfwise.quality.tiers import tier_verdicts


@dataclass
class StoreAssessment:
    """The gate over what is stored, as training sees it: the report, and which events to leave out."""

    report: QualityReport
    excluded_events: np.ndarray  # bool mask over the store's events frame, in its order
    excluded_counts: dict[str, int]


def assess_store(
    products: Sequence[Product],
    events: pl.DataFrame,
    quarantined: dict[str, int],
    config: QualityConfig | None = None,
    now: datetime | None = None,
    unjoined: int = 0,
    image_flags: Flags | None = None,
) -> StoreAssessment:
    """Dataset checks over the store: products and joined events as stored, with quarantine counts per
    source and the count of events stored waiting for their product (`unjoined`, not in `events`);
    `image_flags` are the image checks' findings over `products` (quality.checks.images), when encoded."""
    config = config or QualityConfig()
    frame = products_frame(products)
    product_flags = check_catalog(frame, config)
    if image_flags is not None:
        product_flags.merge(image_flags)
    product_rows = len(products) + quarantined.get("products", 0)
    product_warnings = catalog_warnings(
        frame, product_flags, product_rows, quarantined.get("products", 0), config
    )
    event_frame = normalise_frame(events) if events.height else events_frame([])
    ids = {product.product_id for product in products}
    event_flags, bots = check_events(event_frame, config, ids, now)
    event_rows = event_frame.height + quarantined.get("events", 0) + unjoined
    event_warnings_ = event_warnings(
        event_frame, event_flags, bots, event_rows, quarantined.get("events", 0), config, now, unjoined
    )
    excluded = np.zeros(event_frame.height, dtype=bool)
    counts: dict[str, int] = {}
    for name in (
        "event.bot",
        "event.duplicate",
        "event.unknown_product",
        "event.future_timestamp",
        "event.timestamp_before_shop",
    ):
        mask = event_flags.mask(name, event_frame.height)
        counts[name] = int((mask & ~excluded).sum())
        excluded |= mask
    counts["event.unknown_product"] += unjoined
    warnings = product_warnings + event_warnings_
    product_gate = GatedFile(
        "products", "<store>", [], list(products), [], [], frame, product_flags, product_warnings
    )
    event_gate = GatedFile(
        "events", "<store>", [], [], [], [], event_frame, event_flags, event_warnings_, bots
    )
    check_rows = {**_flag_counts(product_flags), **_flag_counts(event_flags)}
    if unjoined:
        check_rows["event.unknown_product"] = check_rows.get("event.unknown_product", 0) + unjoined
    report = QualityReport(
        source="store",
        checks=dict(sorted(check_rows.items())),
        check_details=check_counts(check_rows),
        tiers=tier_verdicts(warnings),
        warnings=[WarningItem.of(warning) for warning in warnings],
        figures=figures(product_gate, event_gate),
    )
    return StoreAssessment(report, excluded, counts)


def _flag_counts(flags: Flags) -> dict[str, int]:
    return {name: len(rows) for name, rows in flags.by_check.items() if rows}
