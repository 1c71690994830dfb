"""The shared real data sets in the import format, for the quality benchmark (bench/quality_faults.py) and
the real-data tests (tests/quality/test_quality_real_data.py); research code, not part of the package.

Flipkart is a dirty real catalog (lists stored as text, zero prices, doubled spaces); Home Depot gives
titles only; Amazon Beauty gives real interaction sequences without times, so each review becomes a view
and a purchase at times made up from its position (days apart, seconds of jitter).
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import shared_data
from shelfwise.io.writers import write_rows

FLIPKART = "flipkart-catalog"
HOMEDEPOT = "homedepot-search"
AMAZON_BEAUTY = "amazon-beauty"
EVENTS_END = datetime(2026, 6, 1, tzinfo=UTC)


def dataset_file(name: str, file: str) -> Path:
    """Where `file` of the shared data set `name` lives."""
    return shared_data() / name / file


def available(name: str, file: str) -> bool:
    """Whether that file is there (the tests skip, naming it, when not)."""
    return dataset_file(name, file).is_file()


def _read(path: Path, limit: int | None) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = []
        for index, row in enumerate(csv.DictReader(handle)):
            if limit is not None and index >= limit:
                break
            rows.append(row)
    return rows


def flipkart_products(limit: int | None = None) -> list[dict[str, Any]]:
    """Flipkart rows as products, every column kept (the messy ones as they are)."""
    rows = _read(dataset_file(FLIPKART, "product.csv"), limit)
    return [
        {
            "product_id": row["uniq_id"],
            "title": row["product_name"],
            "description": row["description"] or None,
            "category": row["product_category_tree"] or None,
            "brand": row["brand"] or None,
            "price": row["retail_price"] or None,
            "currency": "INR",
            "image_url": row["image"] or None,
            "product_url": row["product_url"],
            "specifications": row["formatted_specifications"] or None,
        }
        for row in rows
    ]


def homedepot_products(limit: int | None = None) -> list[dict[str, Any]]:
    """Home Depot products: ids and titles only."""
    rows = _read(dataset_file(HOMEDEPOT, "products.csv"), limit)
    return [{"product_id": row["product_id"], "title": row["title"]} for row in rows]


def beauty_products(limit: int | None = None) -> list[dict[str, Any]]:
    """Amazon Beauty items: ids and titles (some titles are empty)."""
    rows = _read(dataset_file(AMAZON_BEAUTY, "items.csv"), limit)
    return [{"product_id": row["item_id"], "title": row["title"]} for row in rows]


def beauty_events(limit_users: int | None = None, seed: int = 5) -> list[dict[str, Any]]:
    """A view then a purchase for each review, in the order of the user's reviews."""
    rng = random.Random(seed)
    rows = _read(dataset_file(AMAZON_BEAUTY, "interactions.csv"), None)
    by_user: dict[str, list[tuple[int, str]]] = {}
    for row in rows:
        by_user.setdefault(row["user_id"], []).append((int(row["position"]), row["item_id"]))
    events: list[dict[str, Any]] = []
    for user_index, (user, items) in enumerate(by_user.items()):
        if limit_users is not None and user_index >= limit_users:
            break
        items.sort()
        start = EVENTS_END - timedelta(days=rng.uniform(2 * len(items) + 1, 400))
        for position, item in items:
            viewed = start + timedelta(days=2 * position, seconds=rng.uniform(0, 86_000))
            bought = viewed + timedelta(seconds=rng.uniform(20, 900))
            session = f"{user}-{position}"
            for kind, moment in (("view", viewed), ("purchase", bought)):
                events.append(
                    {
                        "user_id": f"u{user}",
                        "session_id": session,
                        "event_type": kind,
                        "product_id": item,
                        "timestamp": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                )
    return events


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write `rows` as CSV (the header: every key, in order of first appearance); returns the path."""
    write_rows(path, rows)
    return path
