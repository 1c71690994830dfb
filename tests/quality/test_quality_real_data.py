"""On real data, every row ends in exactly one outcome and the counts add up to the rows read."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shelfwise.quality.reporting import check_files

# The loaders are research code under bench/, not part of the installed package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from real_data_quality import (
    AMAZON_BEAUTY,
    FLIPKART,
    available,
    beauty_events,
    beauty_products,
    flipkart_products,
    write_csv,
)

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


def _require(name: str, file: str) -> None:
    if not available(name, file):
        pytest.skip(
            f"../shared/data/{name}/{file} is absent (set SHELFWISE_DATA to a copy of the shared data)"
        )


def test_flipkart_rows_each_get_one_outcome_and_the_counts_add_up(tmp_path: Path) -> None:
    _require(FLIPKART, "product.csv")
    products = write_csv(tmp_path / "flipkart.csv", flipkart_products())
    report = check_files(products).report
    summary = report.products
    assert summary is not None and summary.rows == 1002
    assert summary.accepted + summary.repaired + summary.excluded + summary.quarantined == summary.rows
    listed = [row for row in report.rows if row.file == "products"]
    assert len({row.line for row in listed}) == len(listed), "one entry per row"
    by_outcome = {
        outcome: sum(row.outcome == outcome for row in listed) for outcome in ("repaired", "quarantined")
    }
    assert by_outcome["repaired"] == summary.repaired and by_outcome["quarantined"] == summary.quarantined
    # The known mess of this catalog is found: categories stored as Python lists, zero prices.
    assert report.checks["product.list_as_text"] == 1002
    assert report.checks["product.zero_price"] == 5


def test_beauty_events_counts_add_up_with_injected_junk(tmp_path: Path) -> None:
    _require(AMAZON_BEAUTY, "interactions.csv")
    events = beauty_events(limit_users=300)
    events += [
        {"user_id": "x", "event_type": "wink", "product_id": "1", "timestamp": "2026-01-01"},
        {"user_id": "x", "event_type": "view", "product_id": "no-such-item", "timestamp": "2026-01-01"},
    ]
    products = write_csv(tmp_path / "items.csv", beauty_products())
    report = check_files(products, write_csv(tmp_path / "events.csv", events)).report
    summary = report.events
    assert summary is not None and summary.rows == len(events)
    assert summary.accepted + summary.repaired + summary.excluded + summary.quarantined == summary.rows
    # Some Beauty items have no title: they are quarantined, and their events (like the one naming no such
    # item) wait for them, stored but out of training; only the unknown event type is refused.
    untitled = {
        row.product_id for row in report.rows if row.file == "products" and row.outcome == "quarantined"
    }
    assert untitled, "the real catalog has items without a title"
    assert summary.quarantined == 1
    assert summary.excluded >= 1 + sum(event["product_id"] in untitled for event in events)
