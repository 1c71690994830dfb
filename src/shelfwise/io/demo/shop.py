"""The whole demo shop: a catalog and its shoppers' events from one seed, as rows or as the CSV files
`shelfwise demo` imports. The same seed gives byte-identical files."""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shelfwise.io.demo.catalog import Catalog
from shelfwise.io.demo.categories import CATEGORIES
from shelfwise.io.demo.shoppers import DemoUser, Simulator, make_users, random_user

DEMO_END = datetime(2026, 6, 1, tzinfo=UTC)
PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "attributes",
    "image_url",
    "available",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "session_id",
    "event_type",
    "product_id",
    "query",
    "timestamp",
    "quantity",
    "price",
)


@dataclass
class DemoShop:
    """Import-format rows: `products` (attributes as a dict) and `events`, plus the ground truth behind
    them: the users' tastes and the products made to trend."""

    products: list[dict[str, Any]]
    events: list[dict[str, Any]]
    users: list[DemoUser] = field(default_factory=list)
    trending: list[str] = field(default_factory=list)  # product ids boosted in the last week


def generate_demo_shop(
    seed: int = 7,
    n_products: int = 5000,
    n_users: int = 1500,
    days: int = 42,
    end: datetime = DEMO_END,
) -> DemoShop:
    """A catalog of `n_products` and the events of `n_users` shoppers over the `days` before `end`."""
    if n_products < len(CATEGORIES):
        raise ValueError(
            f"n_products must be at least {len(CATEGORIES)} (one per category), got {n_products}"
        )
    if n_users < 1 or days < 1:
        raise ValueError(f"n_users and days must be positive, got {n_users} and {days}")
    # One generator, drawn in this order (catalog, shoppers, their sessions, guests): same seed, same shop.
    rng = random.Random(seed)
    end = end.astimezone(UTC) if end.tzinfo else end.replace(tzinfo=UTC)
    catalog = Catalog.build(rng, n_products, end, days)
    users = make_users(rng, n_users)
    simulator = Simulator(rng, catalog, end, days)
    for user in users:
        simulator.simulate_user(user)
    for _ in range(max(1, n_users // 15)):
        simulator.simulate_guest(random_user(rng, "guest"))
    trending = [catalog.products[index].product_id for index in catalog.trending]
    return DemoShop(products=catalog.rows(), events=simulator.rows(), users=users, trending=trending)


def write_demo_shop(directory: Path | str, **kwargs: Any) -> tuple[Path, Path]:
    """Write products.csv (attributes as a JSON column) and events.csv; returns their paths."""
    return write_shop(directory, generate_demo_shop(**kwargs))


def write_shop(directory: Path | str, shop: DemoShop) -> tuple[Path, Path]:
    """Write a shop's products.csv (attributes as a JSON column) and events.csv; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    products_path = directory / "products.csv"
    events_path = directory / "events.csv"
    _write_csv(products_path, PRODUCT_COLUMNS, shop.products)
    _write_csv(events_path, EVENT_COLUMNS, shop.events)
    return products_path, events_path


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(_csv_cell(row.get(column)) for column in columns)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)
