"""Fixtures shared by the suite: store URLs for SQLite and the real PostgreSQL server, a Redis URL,
and small catalogs and events the project owns."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa

POSTGRES_SERVER = os.environ.get(
    "SHELFWISE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_SERVER = os.environ.get("SHELFWISE_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the real server, dropped afterwards; the store's tables are created inside it."""
    schema = f"shelfwise_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_SERVER)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:  # a clear failure, never a silent skip
        pytest.fail(f"PostgreSQL at {POSTGRES_SERVER} is not reachable (.ci/run starts it): {error}")
    yield f"{POSTGRES_SERVER}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_SERVER)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis at {REDIS_SERVER} is not reachable (.ci/run starts it): {error}")
    yield REDIS_SERVER
    for key in client.scan_iter("shelfwise:*"):
        client.delete(key)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Each store test runs against both backends: one code path, two databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


def catalog_rows() -> list[dict[str, Any]]:
    """A tiny catalog with clear lexical, category and price structure."""
    rows = [
        ("p1", "Oak dining table", "Solid oak table for six", "Furniture > Tables", "Woodcraft", 499.0),
        ("p2", "Walnut coffee table", "Low table in walnut", "Furniture > Tables", "Woodcraft", 249.0),
        ("p3", "Velvet sofa", "Three-seat sofa in green velvet", "Furniture > Sofas", "Comfy", 899.0),
        ("p4", "Leather sofa", "Brown leather sofa", "Furniture > Sofas", "Comfy", 1299.0),
        ("p5", "Stainless steel frying pan", "Non-stick pan 28 cm", "Kitchen > Cookware", "Chefline", 39.0),
        ("p6", "Cast iron skillet", "Pre-seasoned skillet", "Kitchen > Cookware", "Chefline", 45.0),
        ("p7", "Wooden spatula set", "Three beech spatulas", "Kitchen > Utensils", "Chefline", 12.0),
        ("p8", "Smartphone X", "6.1 inch phone", "Electronics > Phones", "Nova", 699.0),
        (
            "p9",
            "Phone case for Smartphone X",
            "Slim silicone case",
            "Electronics > Accessories",
            "Nova",
            19.0,
        ),
        ("p10", "USB-C charger", "20 W fast charger", "Electronics > Accessories", "Volt", 25.0),
    ]
    return [
        {
            "product_id": pid,
            "title": title,
            "description": description,
            "category": category,
            "brand": brand,
            "price": price,
            "currency": "EUR",
        }
        for pid, title, description, category, brand, price in rows
    ]


def event_rows(now: datetime | None = None) -> list[dict[str, Any]]:
    """Users who view a phone then its case, cook with a pan then a spatula; some buy both."""
    now = now or datetime(2026, 11, 1, tzinfo=UTC)
    rows: list[dict[str, Any]] = []
    journeys = [("p8", "p9", "p10"), ("p5", "p7", "p6"), ("p1", "p2"), ("p3", "p4")]
    for user in range(40):
        journey = journeys[user % len(journeys)]
        start = now - timedelta(days=user % 10, hours=user)
        for step, product in enumerate(journey):
            moment = start + timedelta(minutes=5 * step)
            rows.append(_event(f"u{user}", f"s{user}", "view", product, moment))
            if user % 2 == 0 and step < 2:
                rows.append(
                    _event(f"u{user}", f"s{user}", "purchase", product, moment + timedelta(minutes=1))
                )
    rows.append(
        {
            "user_id": "u0",
            "session_id": "s0",
            "event_type": "search",
            "query": "phone case",
            "timestamp": now.isoformat(),
        }
    )
    return rows


def _event(user: str, session: str, kind: str, product: str, moment: datetime) -> dict[str, Any]:
    return {
        "user_id": user,
        "session_id": session,
        "event_type": kind,
        "product_id": product,
        "timestamp": moment.isoformat(),
    }
