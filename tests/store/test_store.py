"""The store on both SQLite and the real PostgreSQL server: one code path, the same behaviour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from shelfwise.domain import Event, EventType, Product
from shelfwise.domain.ingest import QuarantinedRow
from shelfwise.store import Store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


def _product(pid: str, title: str, price: float | None = 10.0) -> Product:
    return Product(
        product_id=pid, title=title, category="Home > Bedding", price=price, attributes={"colour": "red"}
    )


def test_upsert_inserts_then_replaces_by_product_id(store: Store) -> None:
    store.upsert_products([_product("a", "Pillow"), _product("b", "Duvet")])
    store.upsert_products([_product("a", "Memory foam pillow", price=25.0)])

    assert store.count_products() == 2
    updated = store.get_product("a")
    assert updated is not None
    assert updated.title == "Memory foam pillow"
    assert updated.price == 25.0
    assert updated.attributes == {"colour": "red"}
    assert updated.category == "Home > Bedding"


def test_last_occurrence_wins_within_one_batch(store: Store) -> None:
    store.upsert_products([_product("a", "first"), _product("a", "second")])
    product = store.get_product("a")
    assert product is not None and product.title == "second"


def test_delete_product(store: Store) -> None:
    store.upsert_products([_product("a", "Pillow")])
    assert store.delete_product("a") is True
    assert store.delete_product("a") is False
    assert store.get_product("a") is None


def _catalog(store: Store, *ids: str) -> None:
    store.upsert_products([_product(pid, f"Product {pid}") for pid in ids])


def test_events_history_is_oldest_first_and_users_are_tracked(store: Store) -> None:
    _catalog(store, *(f"p{i}" for i in range(10)))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    events = [
        Event(
            user_id="u1",
            event_type=EventType.VIEW,
            product_id=f"p{i}",
            timestamp=start + timedelta(minutes=i),
        )
        for i in range(5)
    ]
    store.add_events(list(reversed(events)))
    store.add_events([Event(user_id="u1", event_type=EventType.PURCHASE, product_id="p9", timestamp=start)])

    history = store.history(user_id="u1", limit=3)
    assert [e.product_id for e in history] == ["p2", "p3", "p4"]
    assert history[0].timestamp.tzinfo is not None
    assert store.count_events() == 6
    assert store.count_users() == 1

    frame = store.events_frame()
    assert frame.height == 6
    assert set(frame.get_column("event_type").to_list()) == {"view", "purchase"}


def test_session_history_for_anonymous_visitors(store: Store) -> None:
    _catalog(store, "p1")
    store.add_events([Event(session_id="s1", event_type=EventType.VIEW, product_id="p1")])
    assert [e.product_id for e in store.history(session_id="s1")] == ["p1"]


def test_forget_user_removes_events_and_profile(store: Store) -> None:
    views = [Event(user_id="u1", event_type=EventType.VIEW, product_id=f"p{i}") for i in range(3)]
    store.add_events(views)
    store.add_events([Event(user_id="u2", event_type=EventType.VIEW, product_id="p1")])
    assert store.forget_user("u1").counts["events"] == 3
    assert store.history(user_id="u1") == []
    assert store.count_users() == 1
    assert store.count_events() == 1


def test_forget_user_takes_their_sessions_and_quarantined_rows(store: Store) -> None:
    store.upsert_products([Product(product_id=p, title=f"Lamp {p}") for p in ("p1", "p2", "p3")])
    store.add_events(
        [
            Event(user_id="u1", session_id="s1", event_type=EventType.VIEW, product_id="p1"),
            Event(session_id="s1", event_type=EventType.VIEW, product_id="p2"),  # before they logged in
            Event(session_id="s2", event_type=EventType.VIEW, product_id="p2"),  # known from quarantine
            Event(user_id="u2", session_id="s1", event_type=EventType.VIEW, product_id="p3"),  # a flatmate
            Event(session_id="s3", event_type=EventType.VIEW, product_id="p1"),
        ]
    )
    quarantined = [
        {"user_id": "u1", "session_id": "s2", "product_id": "p404"},
        {"session_id": "s1", "product_id": "p405"},
        {"user_id": "u2", "product_id": "p404"},
    ]
    store.add_quarantined(
        [
            QuarantinedRow(source="events", file="e.csv", line=i, raw=raw, reasons=["x"])
            for i, raw in enumerate(quarantined)
        ]
    )
    forgotten = store.forget_user("u1")
    assert forgotten.session_ids == {"s1", "s2"}
    assert forgotten.counts == {"sessions": 2, "events": 3, "users": 1, "quarantined_rows": 2}
    assert sorted(forgotten.events.get_column("product_id").to_list()) == ["p1", "p2", "p2"]
    assert sorted(store.events_frame().get_column("product_id").to_list()) == ["p1", "p3"]
    assert [row.raw for row in store.quarantined()] == [{"user_id": "u2", "product_id": "p404"}]


def test_quarantine_keeps_the_whole_row_and_its_reasons(store: Store) -> None:
    row = QuarantinedRow(
        source="products",
        file="catalog.csv",
        line=7,
        raw={"product_id": "", "price": "abc"},
        reasons=["product_id: missing", "price: 'abc' is not a number"],
    )
    store.add_quarantined([row])
    [kept] = store.quarantined(source="products")
    assert kept.id is not None
    assert kept.model_copy(update={"id": None}) == row
    assert store.quarantined(ids=[kept.id]) == [kept]
    assert store.count_quarantined() == 1
    assert store.count_quarantined("events") == 0


def test_quarantine_reasons_group_ids_without_raw_rows_and_discard_deletes(store: Store) -> None:
    def entry(source: str, reasons: list[str]) -> QuarantinedRow:
        return QuarantinedRow(source=source, file="f", line=1, raw={"x": "y" * 100}, reasons=reasons)

    missing, bad_type = ["title: missing"], ["event_type: 'x' is not one of view"]
    store.add_quarantined([entry("products", missing), entry("events", bad_type), entry("products", missing)])
    ids = [row.id for row in store.quarantined(limit=None)]
    assert store.quarantine_reasons() == {
        ("products", ("title: missing",)): [ids[0], ids[2]],
        ("events", tuple(bad_type)): [ids[1]],
    }
    assert list(store.quarantine_reasons("events")) == [("events", tuple(bad_type))]
    assert store.discard_quarantined("products", [ids[0], ids[1]]) == 1, "only rows of the source"
    assert store.discard_quarantined("events") == 1
    assert [row.id for row in store.quarantined(limit=None)] == [ids[2]]


def test_last_product_change_moves_forward(store: Store) -> None:
    assert store.last_product_change() is None
    store.upsert_products([_product("a", "Pillow")])
    first = store.last_product_change()
    assert first is not None
    store.upsert_products([_product("b", "Duvet")])
    second = store.last_product_change()
    assert second is not None and second >= first
