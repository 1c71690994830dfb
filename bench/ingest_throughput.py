"""Bulk ingestion throughput: generated products and events as CSV, ingested into a fresh SQLite store.

    .venv/bin/python bench/ingest_throughput.py [--events 200000] [--products 20000]

Prints a table, then one JSON line of figures (read by bench/run_all.py). The whole path is timed: reading
the CSV, the quality gate (parsing and validating every row) and the batched writes to SQLite.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from shelfwise.engine import Engine
from shelfwise.settings import Settings

TARGET_EVENTS_PER_SECOND = 20_000
CATEGORIES = ["Home > Bedding", "Home > Kitchen", "Garden > Tools", "Fashion > Shoes", "Electronics > Audio"]
BRANDS = ["Acme", "Northwind", "Globex", "Initech", "Umbrella", "Hooli"]
WORDS = ["oak", "linen", "steel", "wireless", "cotton", "ceramic", "compact", "classic", "soft", "large"]
NOUNS = ["lamp", "pillow", "kettle", "rake", "sneaker", "speaker", "duvet", "pan", "hose", "boot"]
EVENT_TYPES = ["view", "click", "add_to_cart", "purchase"]
EVENT_SHARES = [0.70, 0.18, 0.08, 0.04]
SEARCH_SHARE = 0.05


def products_frame(n: int, rng: np.random.Generator) -> pl.DataFrame:
    words = np.array(WORDS)[rng.integers(0, len(WORDS), size=(n, 2))]
    nouns = np.array(NOUNS)[rng.integers(0, len(NOUNS), size=n)]
    return pl.DataFrame(
        {
            "product_id": [f"p{i:07d}" for i in range(n)],
            "title": [
                f"{a.title()} {b} {noun} {i}"
                for i, (a, b, noun) in enumerate(zip(*words.T, nouns, strict=True))
            ],
            "category": np.array(CATEGORIES)[rng.integers(0, len(CATEGORIES), size=n)],
            "brand": np.array(BRANDS)[rng.integers(0, len(BRANDS), size=n)],
            "price": np.round(rng.uniform(2, 500, size=n), 2),
            "available": rng.random(n) > 0.1,
        }
    )


def events_frame(n: int, n_products: int, rng: np.random.Generator) -> pl.DataFrame:
    """Events of about n / 20 users; popularity is Zipf-like so that a few products get most views."""
    n_users = max(1, n // 20)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    seconds = np.sort(rng.integers(0, 90 * 86_400, size=n))
    kinds = np.array(EVENT_TYPES)[rng.choice(len(EVENT_TYPES), size=n, p=EVENT_SHARES)].astype(object)
    products = (np.minimum(rng.zipf(1.3, size=n), n_products) - 1).astype(np.int64)
    product_ids = np.array([f"p{i:07d}" for i in range(n_products)], dtype=object)[products]
    queries = np.full(n, None, dtype=object)
    searches = rng.random(n) < SEARCH_SHARE
    kinds[searches] = "search"
    product_ids[searches] = None
    queries[searches] = np.array(NOUNS, dtype=object)[rng.integers(0, len(NOUNS), size=int(searches.sum()))]
    users = rng.integers(0, n_users, size=n)
    return pl.DataFrame(
        {
            "user_id": [f"u{u:06d}" for u in users],
            "session_id": [f"s{u:06d}-{s // 3600}" for u, s in zip(users, seconds, strict=True)],
            "event_type": kinds.tolist(),
            "product_id": product_ids.tolist(),
            "query": queries.tolist(),
            "timestamp": [(start + timedelta(seconds=int(s))).isoformat() for s in seconds],
        },
        schema_overrides={"product_id": pl.Utf8, "query": pl.Utf8},
    )


def timed_ingest(engine: Engine, source: str, path: Path, rows: int) -> dict[str, Any]:
    ingest = engine.ingest_products if source == "products" else engine.ingest_events
    started = time.perf_counter()
    report = ingest(path)
    seconds = time.perf_counter() - started
    if report.accepted != rows:
        problem = f"expected {rows} accepted rows, got {report.accepted} ({report.quarantined} quarantined)"
        raise SystemExit(f"{source}: {problem}")
    return {
        "rows": rows,
        "bytes": path.stat().st_size,
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
        "quarantined": report.quarantined,
    }


def run(n_events: int, n_products: int, seed: int = 7) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="shelfwise-bench-ingest-") as scratch:
        root = Path(scratch)
        products_path, events_path = root / "products.csv", root / "events.csv"
        products_frame(n_products, rng).write_csv(products_path)
        events_frame(n_events, n_products, rng).write_csv(events_path)
        settings = Settings().model_copy(
            update={"data_dir": root / "data", "database_url": None, "online_url": "memory://"}
        )
        engine = Engine(settings)
        try:
            products = timed_ingest(engine, "products", products_path, n_products)
            events = timed_ingest(engine, "events", events_path, n_events)
        finally:
            engine.close()
    return {
        "store": "SQLite (fresh file, WAL)",
        "products": products,
        "events": events,
        "target_events_per_second": TARGET_EVENTS_PER_SECOND,
        "meets_target": events["rows_per_second"] >= TARGET_EVENTS_PER_SECOND,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="Events to generate and ingest.")
    parser.add_argument("--products", type=int, default=20_000, help="Products to generate and ingest.")
    args = parser.parse_args(argv)
    figures = run(args.events, args.products)
    for source in ("products", "events"):
        row = figures[source]
        rate = row["rows_per_second"]
        print(f"{source:>8}: {row['rows']:>9,} rows in {row['seconds']:>7.2f} s = {rate:>9,} rows/s")
    verdict = "meets" if figures["meets_target"] else "MISSES"
    print(f"events/s {verdict} the target of {TARGET_EVENTS_PER_SECOND:,}/s")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
