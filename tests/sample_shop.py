"""A tiny shop the project owns: a catalog with clear lexical, category and price structure, and shoppers
whose journeys make co-views and co-purchases. Tests import it (`from sample_shop import catalog_rows`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


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
