"""The demo shop: deterministic, shop-sized, and carrying the signals recommenders are meant to find."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shelfwise.domain import EventType
from shelfwise.io.demo import (
    CATEGORIES,
    COMPLEMENTS,
    DEMO_END,
    DEMO_USERS,
    DemoShop,
    generate_demo_shop,
    write_demo_shop,
)
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.gate import GatedFile, check_of_reason, gate_event_file, gate_product_file

SMALL: dict[str, Any] = {"n_products": 300, "n_users": 60, "days": 21}


@pytest.fixture(scope="module")
def shop() -> DemoShop:
    """The default demo shop, generated once for this module (a few seconds)."""
    return generate_demo_shop()


def digest(directory: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in sorted(directory.iterdir())}


def test_the_same_seed_writes_byte_identical_files_and_another_seed_does_not(tmp_path: Path) -> None:
    first = write_demo_shop(tmp_path / "a", seed=3, **SMALL)
    second = write_demo_shop(tmp_path / "b", seed=3, **SMALL)
    write_demo_shop(tmp_path / "c", seed=4, **SMALL)

    assert [path.name for path in first] == ["products.csv", "events.csv"]
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    assert digest(tmp_path / "a")["events.csv"] != digest(tmp_path / "c")["events.csv"]
    assert all(path.stat().st_size > 0 for path in (*first, *second))


@pytest.mark.slow
def test_the_files_do_not_depend_on_the_process_hash_seed(tmp_path: Path) -> None:
    # Set or dict order of strings changes between processes; a generator that leaned on it would drift.
    script = (
        "import sys; from shelfwise.io.demo import write_demo_shop; "
        "write_demo_shop(sys.argv[1], **eval(sys.argv[2]))"
    )
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / hash_seed), repr(SMALL)], check=True, env=env
        )

    assert digest(tmp_path / "1") == digest(tmp_path / "2")


@pytest.fixture(scope="module")
def small_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small demo shop's products.csv and events.csv, written once for this module."""
    return write_demo_shop(tmp_path_factory.mktemp("small"), seed=5, **SMALL)


def gate(products_path: Path, events_path: Path) -> tuple[GatedFile, GatedFile]:
    """Both files through the quality gate as an import runs it: events checked against the catalog's
    accepted products, at the demo's end so its newest events are not stale."""
    config = QualityConfig()
    products = gate_product_file(products_path, config)
    catalog_ids = [product.product_id for product in products.stored]
    return products, gate_event_file(events_path, config, catalog_ids, now=DEMO_END)


def test_every_row_of_the_written_demo_files_passes_the_quality_gate(small_files: tuple[Path, Path]) -> None:
    products, events = gate(*small_files)
    product_counts, event_counts = products.summary(), events.summary()

    # Accepted as written: nothing quarantined, nothing needed a repair, no event kept out of training.
    assert (
        products.quarantined == [] and product_counts.accepted == product_counts.rows == SMALL["n_products"]
    )
    assert events.quarantined == [] and events.excluded == []
    assert event_counts.accepted == event_counts.rows == len(events.stored) > 1000
    generated = generate_demo_shop(seed=5, **SMALL).products
    # Attributes went through a JSON text column and come back as the dicts they were.
    assert [product.attributes for product in products.stored] == [row["attributes"] for row in generated]
    assert sum(bool(row["attributes"]) for row in generated) > 0.8 * len(generated)


def test_broken_rows_added_to_the_demo_files_are_quarantined_with_their_reasons(
    small_files: tuple[Path, Path], tmp_path: Path
) -> None:
    # The gate is not waving the demo through: rows broken on purpose, appended to the same files, are
    # quarantined for what is wrong with them while every demo row is still accepted.
    products_path = Path(shutil.copy(small_files[0], tmp_path / "products.csv"))
    events_path = Path(shutil.copy(small_files[1], tmp_path / "events.csv"))
    stamp = "2026-01-01T00:00:00Z"
    with products_path.open("a", encoding="utf-8") as handle:
        handle.write(f"P00999,Broken Kettle,,Kitchen > Cookware,,-5.00,USD,,,true,{stamp},{stamp}\n")
        handle.write(f"P01000,,,Kitchen > Cookware,,5.00,USD,,,true,{stamp},{stamp}\n")
    with events_path.open("a", encoding="utf-8") as handle:
        handle.write("u00001,s999999,view,P00001,,2099-05-31T12:00:00Z,1,\n")
        handle.write("u00001,s999999,wishlist,P00001,,2026-05-31T12:00:00Z,1,\n")
    product_line = SMALL["n_products"] + 2  # after the header and the demo's rows
    event_line = len(small_files[1].read_text(encoding="utf-8").splitlines()) + 1

    products, events = gate(products_path, events_path)

    assert {
        row.line: [check_of_reason("product", r) for r in row.reasons] for row in products.quarantined
    } == {
        product_line: ["product.negative_price"],
        product_line + 1: ["product.missing_required"],
    }
    assert {row.line: [check_of_reason("event", r) for r in row.reasons] for row in events.quarantined} == {
        event_line: ["event.future_timestamp"],
        event_line + 1: ["event.unknown_event_type"],
    }
    assert products.quarantined[0].raw["product_id"] == "P00999"
    assert products.summary().accepted == SMALL["n_products"]
    assert events.summary().accepted == events.summary().rows - 2 and events.excluded == []


def test_the_default_shop_has_the_promised_size_and_variety(shop: DemoShop) -> None:
    categories = Counter(product["category"] for product in shop.products)
    kinds = Counter(event["event_type"] for event in shop.events)

    assert len(shop.products) >= 5000
    assert len({product["product_id"] for product in shop.products}) == len(shop.products)
    assert len(categories) >= 20 and all(len(path.split(" > ")) == 2 for path in categories)
    assert len({product["brand"] for product in shop.products}) >= 25
    assert 100_000 <= len(shop.events) <= 200_000
    assert set(kinds) == {kind.value for kind in EventType}
    assert 0.04 <= kinds["purchase"] / kinds["view"] <= 0.12


def test_products_look_like_a_shop(shop: DemoShop) -> None:
    unavailable = sum(not product["available"] for product in shop.products) / len(shop.products)
    prices: dict[str, list[float]] = defaultdict(list)
    for product in shop.products:
        prices[product["category"]].append(product["price"])
    median = {path: sorted(values)[len(values) // 2] for path, values in prices.items()}
    new_arrivals = [
        p for p in shop.products if p["created_at"] >= (DEMO_END - timedelta(days=14)).isoformat()[:10]
    ]

    assert len({product["title"] for product in shop.products}) == len(shop.products)
    assert all(1 <= product["description"].count(". ") + 1 <= 3 for product in shop.products)
    assert 0.015 <= unavailable <= 0.05
    assert median["Electronics > Laptops"] > 10 * median["Electronics > Computer Accessories"]
    assert median["Furniture > Sofas"] > 10 * median["Home > Decor"]
    assert all(min(values) > 0 for values in prices.values())
    assert 0.02 * len(shop.products) <= len(new_arrivals) <= 0.1 * len(shop.products)
    assert shop.products[0]["image_url"] == f"/static/demo/{CATEGORIES[0].slug}.svg"


def test_events_are_in_time_order_within_the_window_and_only_name_released_products(shop: DemoShop) -> None:
    created = {product["product_id"]: product["created_at"] for product in shop.products}
    stamps = [event["timestamp"] for event in shop.events]
    start = DEMO_END - timedelta(days=42)

    assert stamps == sorted(stamps)
    assert datetime.fromisoformat(stamps[0]) >= start and datetime.fromisoformat(stamps[-1]) < DEMO_END
    assert all(
        event["product_id"] is None or created[event["product_id"]] <= event["timestamp"]
        for event in shop.events
    )
    assert all((event["query"] is None) == (event["event_type"] != "search") for event in shop.events)
    assert all((event["price"] is not None) == (event["event_type"] == "purchase") for event in shop.events)


def _purchases_by_user(shop: DemoShop) -> dict[str, list[tuple[str, str]]]:
    category = {product["product_id"]: product["category"] for product in shop.products}
    bought: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for event in shop.events:
        if event["event_type"] == "purchase" and event["user_id"]:
            bought[event["user_id"]].append((category[event["product_id"]], event["product_id"]))
    return bought


def test_buyers_of_a_product_buy_its_complements_far_more_often_than_other_shoppers(shop: DemoShop) -> None:
    bought = _purchases_by_user(shop)
    lifts = []
    for anchor, complements in COMPLEMENTS.items():
        buyers = {user for user, items in bought.items() if any(path == anchor for path, _ in items)}

        def share(users: set[str], complements: tuple[str, ...] = complements) -> float:
            hits = sum(any(path in complements for path, _ in bought[user]) for user in users)
            return hits / max(1, len(users))

        lifts.append(share(buyers) / max(share(set(bought) - buyers), 1e-9))

    assert len(lifts) >= 8
    assert (
        sorted(lifts)[len(lifts) // 2] > 3.0
    )  # the median complement is bought 3x more often by anchor buyers
    assert min(lifts) > 1.5


def test_consumables_are_bought_again_and_durables_are_not(shop: DemoShop) -> None:
    consumable = {spec.path for spec in CATEGORIES if spec.repurchase_days}
    repeats = [
        (path, product_id)
        for items in _purchases_by_user(shop).values()
        for (path, product_id), count in Counter(items).items()
        if count > 1
    ]

    assert len(repeats) >= 50
    assert all(path in consumable for path, _ in repeats)


def test_popularity_is_skewed_and_a_few_products_trend_in_the_last_week(shop: DemoShop) -> None:
    views = Counter(event["product_id"] for event in shop.events if event["event_type"] == "view")
    counts = sorted(views.values(), reverse=True)
    week = (DEMO_END - timedelta(days=7)).isoformat()[:10]
    last = Counter(
        e["product_id"] for e in shop.events if e["event_type"] == "view" and e["timestamp"] >= week
    )
    before = Counter(
        e["product_id"] for e in shop.events if e["event_type"] == "view" and e["timestamp"] < week
    )
    # Five weeks came before the last one: compare with the average week before it.
    surging = [pid for pid, n in last.items() if n >= 20 and n >= 5 * (before[pid] / 5 + 1)]

    assert sum(counts[: len(counts) // 10]) > 0.25 * sum(counts)
    assert 3 <= len(surging) <= 40
    assert len(set(surging) & set(shop.trending)) >= len(shop.trending) // 2


def test_searches_use_product_words_with_some_typos(shop: DemoShop) -> None:
    sessions = {event["session_id"] for event in shop.events}
    queries = [event["query"] for event in shop.events if event["event_type"] == "search"]
    vocabulary = {word.lower().strip(",") for product in shop.products for word in product["title"].split()}
    misspelled = [query for query in queries if any(word not in vocabulary for word in query.split())]

    assert 0.05 <= len(queries) / len(sessions) <= 0.2
    assert 0.03 <= len(misspelled) / len(queries) <= 0.3


def test_named_demo_users_shop_mostly_in_their_favourite_categories(shop: DemoShop) -> None:
    category = {product["product_id"]: product["category"] for product in shop.products}
    for user in DEMO_USERS:
        paths = [
            category[e["product_id"]] for e in shop.events if e["user_id"] == user.user_id and e["product_id"]
        ]
        in_taste = sum(path in user.categories for path in paths)

        assert len(paths) >= 30, user.user_id
        assert in_taste >= 0.6 * len(paths), user.user_id
    assert len({user.user_id for user in DEMO_USERS}) == len(DEMO_USERS) >= 5
    assert any(event["user_id"] is None and event["session_id"] for event in shop.events)  # guests too


def test_too_small_a_catalog_is_refused() -> None:
    with pytest.raises(ValueError, match="n_products must be at least"):
        generate_demo_shop(n_products=5)
