"""The live gate of one event (`gate_live_event`, the path of Engine.record and of a single POSTed event)
applies the batch gate's row rules: on good and bad events alike it flags exactly what `gate_events`
flags on that event gated in one batch after its actor's recent events. And a cart after a view sent a
moment before is no longer a cart without a view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shelfwise.domain import Event
from shelfwise.engine import Engine
from shelfwise.io.parsing import parse_event
from shelfwise.io.readers import RawRow
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.gate import gate_events, gate_live_event

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CATALOG = {"p1", "p2", "p3"}
CONFIG = QualityConfig(shop_opened=datetime(2025, 1, 1, tzinfo=UTC))


def at(seconds: float) -> str:
    """A timestamp `seconds` before NOW (negative: after it)."""
    return (NOW - timedelta(seconds=seconds)).isoformat()


def raw(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


HISTORY = [
    raw(user_id="u1", session_id="s1", event_type="view", product_id="p1", timestamp=at(600)),
    raw(user_id="u1", session_id="s1", event_type="click", product_id="p3", timestamp=at(500)),
    raw(user_id="u1", session_id="s1", event_type="search", query="red lamp", timestamp=at(3)),
    raw(user_id="u1", session_id="s1", event_type="view", product_id="p2", timestamp=at(2)),
    raw(session_id="anon", event_type="view", product_id="p2", timestamp=at(100)),
]

CANDIDATES: dict[str, dict[str, Any]] = {
    "plain view": raw(user_id="u1", session_id="s1", event_type="view", product_id="p3", timestamp=at(0)),
    "cart after a view": raw(
        user_id="u1", session_id="s1", event_type="add_to_cart", product_id="p1", timestamp=at(0)
    ),
    "purchase after a click": raw(
        user_id="u1", session_id="s1", event_type="purchase", product_id="p3", timestamp=at(0), price="5.0"
    ),
    "cart with no view": raw(
        user_id="u1", session_id="s1", event_type="add_to_cart", product_id="p2", timestamp=at(700)
    ),
    "cart in another session": raw(
        user_id="u1", session_id="s2", event_type="add_to_cart", product_id="p1", timestamp=at(0)
    ),
    "cart before its view": raw(
        user_id="u1", session_id="s1", event_type="add_to_cart", product_id="p1", timestamp=at(900)
    ),
    "anonymous cart after a view": raw(
        session_id="anon", event_type="add_to_cart", product_id="p2", timestamp=at(0)
    ),
    "anonymous cart of another product": raw(
        session_id="anon", event_type="add_to_cart", product_id="p1", timestamp=at(0)
    ),
    "repeated view": raw(user_id="u1", session_id="s1", event_type="view", product_id="p2", timestamp=at(0)),
    "view again later": raw(
        user_id="u1", session_id="s1", event_type="view", product_id="p1", timestamp=at(60)
    ),
    "repeated search": raw(user_id="u1", event_type="search", query="red lamp", timestamp=at(1)),
    "another search": raw(user_id="u1", event_type="search", query="blue lamp", timestamp=at(1)),
    "unknown product": raw(user_id="u2", event_type="view", product_id="p9", timestamp=at(0)),
    "future": raw(user_id="u2", event_type="view", product_id="p1", timestamp=at(-3600)),
    "before the shop": raw(
        user_id="u2", event_type="view", product_id="p1", timestamp="2024-06-01T00:00:00Z"
    ),
    "unknown and future": raw(user_id="u2", event_type="click", product_id="p9", timestamp=at(-86400)),
    "no product": raw(user_id="u2", event_type="view", timestamp=at(0)),
    "no actor": raw(event_type="view", product_id="p1", timestamp=at(0)),
    "bad type": raw(user_id="u2", event_type="wishlist", product_id="p1", timestamp=at(0)),
    "bad timestamp": raw(user_id="u2", event_type="view", product_id="p1", timestamp="yesterday"),
    "bad quantity": raw(
        user_id="u2", event_type="purchase", product_id="p1", quantity="lots", timestamp=at(0)
    ),
}

TIMESTAMP_CHECKS = {"event.future_timestamp", "event.timestamp_before_shop"}


def history_events() -> list[Event]:
    return [parse_event(dict(row)) for row in HISTORY]


@pytest.mark.parametrize("name", list(CANDIDATES))
def test_the_live_gate_flags_what_the_batch_gate_flags(name: str) -> None:
    candidate = CANDIDATES[name]
    rows = [RawRow(line=i, data=dict(row)) for i, row in enumerate([*HISTORY, candidate], start=1)]
    batch = gate_events(rows, "batch", CONFIG, CATALOG, NOW)
    earlier = history_events()
    live = gate_live_event(
        RawRow(line=1, data=dict(candidate)), "live", CONFIG, CATALOG, lambda _: earlier, NOW
    )
    expected, got = batch.rows[-1], live.rows[0]
    assert got.outcome() == expected.outcome()
    assert set(got.checks) == set(expected.checks)
    for check, detail in expected.checks.items():
        if check not in TIMESTAMP_CHECKS:  # pandera words a datetime its own way; the check is the point
            assert got.checks[check] == detail
    assert got.reasons == expected.reasons
    assert live.stored == (batch.stored[-1:] if expected.outcome() != "quarantined" else [])
    assert len(live.quarantined) == (expected.outcome() == "quarantined")
    if live.quarantined and not TIMESTAMP_CHECKS & set(expected.checks):
        assert live.quarantined[0].reasons == batch.quarantined[-1].reasons


def test_the_candidates_cover_every_row_check_that_one_event_can_fail() -> None:
    fired: set[str] = set()
    earlier = history_events()
    for candidate in CANDIDATES.values():
        live = gate_live_event(
            RawRow(line=1, data=dict(candidate)), "live", CONFIG, CATALOG, lambda _: earlier, NOW
        )
        fired |= set(live.rows[0].checks)
    assert {
        "event.cart_without_view",
        "event.duplicate",
        "event.unknown_product",
        "event.future_timestamp",
        "event.timestamp_before_shop",
        "event.missing_required",
        "event.unknown_event_type",
        "event.invalid_value",
    } <= fired


def test_a_cart_after_a_live_view_is_not_a_cart_without_a_view(tmp_path: Path) -> None:
    with Engine.open(tmp_path) as engine:
        engine.ingest_products(
            [{"product_id": "p1", "title": "red lamp"}, {"product_id": "p2", "title": "blue lamp"}]
        )
        engine.record(Event(user_id="u1", session_id="s1", event_type="view", product_id="p1"))
        cart = engine.ingest_events(
            [{"user_id": "u1", "session_id": "s1", "event_type": "add_to_cart", "product_id": "p1"}]
        )
        assert cart.accepted == 1 and "event.cart_without_view" not in cart.reasons_by_check
        unseen = engine.ingest_events(
            [{"user_id": "u1", "session_id": "s1", "event_type": "add_to_cart", "product_id": "p2"}]
        )
        assert unseen.accepted == 1 and unseen.reasons_by_check == {"event.cart_without_view": 1}
        again = engine.ingest_events(
            [{"user_id": "u1", "session_id": "s1", "event_type": "add_to_cart", "product_id": "p2"}]
        )
        assert (again.accepted, again.excluded) == (1, 1), "a repeat within the window is a duplicate"
