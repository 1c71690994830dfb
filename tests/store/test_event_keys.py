"""Events are stored once (an idempotency key, UNIQUE, written with ON CONFLICT DO NOTHING), events of
products not in the catalog wait unjoined, and a store created by the old schema is upgraded: on SQLite
and on the real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shelfwise.domain import Event, EventType, Product
from shelfwise.store import Store, tables
from shelfwise.store.schema import SCHEMA_VERSION

START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = Store.open(store_url)
    yield opened
    opened.close()


def _views(user: str, n: int, product: str = "p1") -> list[Event]:
    return [
        Event(
            user_id=user, event_type=EventType.VIEW, product_id=product, timestamp=START + timedelta(hours=i)
        )
        for i in range(n)
    ]


def _catalog(store: Store, *ids: str) -> None:
    store.upsert_products([Product(product_id=pid, title=f"Product {pid}") for pid in ids])


def test_the_same_events_twice_are_stored_once_and_counted_as_duplicates(store: Store) -> None:
    _catalog(store, "p1")
    events = _views("u1", 5)

    first = store.add_events(events)
    again = store.add_events(events[2:] + _views("u1", 7)[5:])

    assert (first.stored, first.duplicates) == (5, 0)
    assert (again.stored, again.duplicates) == (2, 3)
    assert store.count_events() == 7
    assert store.most_active_users(1) == [("u1", 7)]  # the users table counts what was stored
    assert store.events_frame().height == 7


def test_repeats_within_one_batch_are_stored_once(store: Store) -> None:
    _catalog(store, "p1")
    [event] = _views("u1", 1)
    written = store.add_events([event, event, event])
    assert (written.stored, written.duplicates) == (1, 2)
    assert store.count_events() == 1


def test_a_client_event_id_decides_within_its_user(store: Store) -> None:
    _catalog(store, "p1", "p2")
    sent = Event(user_id="u1", event_type=EventType.VIEW, product_id="p1", event_id="e-1")
    # A retry carries the same id, even when the client stamped it anew; another user may reuse the id.
    retried = sent.model_copy(update={"timestamp": sent.timestamp + timedelta(seconds=3)})
    other_user = sent.model_copy(update={"user_id": "u2"})

    store.add_events([sent])
    written = store.add_events([retried, other_user])

    assert (written.stored, written.duplicates) == (1, 1)
    assert store.count_events() == 2
    assert store.history(user_id="u1")[0].event_id == "e-1"


def test_events_of_unknown_products_wait_unjoined_until_the_product_arrives(store: Store) -> None:
    _catalog(store, "p1")
    click = Event(session_id="s1", event_type=EventType.CLICK, product_id="p9", timestamp=START)
    waiting = [*_views("u1", 2, product="p9"), click]
    written = store.add_events(_views("u2", 1) + waiting, catalog_ids={"p1"})

    assert (len(written.joined), len(written.unjoined)) == (1, 3)
    assert store.count_events() == 4
    assert store.count_unjoined_events() == 3
    assert store.events_frame().get_column("product_id").to_list() == ["p1"]
    assert store.history(user_id="u1") == []

    _catalog(store, "p9")
    assert store.join_events(["p9"]) == {"user:u1", "session:s1"}
    assert store.count_unjoined_events() == 0
    assert store.events_frame().height == 4
    assert [e.product_id for e in store.history(user_id="u1")] == ["p9", "p9"]


def test_a_stale_view_of_the_catalog_does_not_leave_events_unjoined(store: Store) -> None:
    _catalog(store, "p1")
    written = store.add_events(_views("u1", 2), catalog_ids=set())  # the caller has not seen p1 yet
    assert (len(written.joined), len(written.unjoined)) == (2, 0)
    assert store.count_unjoined_events() == 0


def test_join_events_without_ids_joins_whatever_the_catalog_now_has(store: Store) -> None:
    store.add_events(_views("u1", 2, product="p7"))
    _catalog(store, "p7")  # written by another process: no join_events(["p7"]) here
    assert store.count_unjoined_events() == 2
    assert store.join_events() == {"user:u1"}
    assert store.count_unjoined_events() == 0


def test_the_integrity_check_finds_events_stored_twice(store: Store) -> None:
    _catalog(store, "p1")
    store.add_events(_views("u1", 3))
    assert store.check_integrity() == []
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP INDEX ux_events_key"))
        conn.execute(sa.text("UPDATE events SET event_key = 'same'"))
    assert store.check_integrity() == ["1 event keys are stored more than once"]


# --- a store created by the old schema ------------------------------------------------------------------

_OLD = sa.MetaData()
_OLD_EVENTS = sa.Table(
    "events",
    _OLD,
    sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
    ),
    sa.Column("user_id", sa.String(256)),
    sa.Column("session_id", sa.String(256)),
    sa.Column("event_type", sa.String(16), nullable=False),
    sa.Column("product_id", sa.String(256)),
    sa.Column("query", sa.Text),
    sa.Column("timestamp", sa.DateTime, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("price", sa.Float),
    sa.Column("request_id", sa.String(64)),
    sa.Index("ix_events_user_time", "user_id", "timestamp"),
    sa.Index("ix_events_session_time", "session_id", "timestamp"),
    sa.Index("ix_events_product", "product_id"),
)
for _table in (tables.products, tables.users, tables.quarantine):
    _table.to_metadata(_OLD)


def _old_store(url: str) -> None:
    """What shelfwise wrote before event keys: a file imported twice, so every event stored twice."""
    engine = sa.create_engine(url)
    _OLD.create_all(engine)
    when = START.replace(tzinfo=None)
    rows = [
        {"user_id": "u1", "event_type": "view", "product_id": "p1", "timestamp": when + timedelta(hours=i)}
        for i in range(3)
    ] + [{"user_id": "u2", "event_type": "view", "product_id": "gone", "timestamp": when}]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tables.products.to_metadata(sa.MetaData())),
            [
                {
                    "product_id": "p1",
                    "title": "Pillow",
                    "attributes": {},
                    "available": True,
                    "ingested_at": when,
                }
            ],
        )
        conn.execute(sa.insert(_OLD_EVENTS), [{**row, "quantity": 1} for row in rows + rows])
        conn.execute(
            sa.insert(_OLD.tables["users"]),
            [
                {"user_id": "u1", "first_seen": when, "last_seen": when, "event_count": 6},
                {"user_id": "u2", "first_seen": when, "last_seen": when, "event_count": 2},
            ],
        )
    engine.dispose()


def test_opening_an_old_store_keys_its_events_and_removes_what_was_stored_twice(store_url: str) -> None:
    _old_store(store_url)

    store = Store.open(store_url)
    try:
        upgrade = store.schema_upgrade
        assert upgrade is not None
        assert (upgrade.from_version, upgrade.to_version) == (1, SCHEMA_VERSION)
        assert (upgrade.events_keyed, upgrade.duplicates_removed, upgrade.unjoined) == (8, 4, 1)
        assert store.count_events() == 4
        assert store.count_unjoined_events() == 1  # its product is not in the catalog
        assert dict(store.most_active_users(2)) == {"u1": 3, "u2": 1}
        assert store.check_integrity() == []
        # The keys backfilled are the keys new writes make: the same events again are duplicates.
        again = store.add_events(_views("u1", 3))
        assert (again.stored, again.duplicates) == (0, 3)
    finally:
        store.close()

    reopened = Store.open(store_url)
    try:
        assert reopened.schema_upgrade is None  # upgraded once
        assert reopened.count_events() == 4
    finally:
        reopened.close()


def test_a_new_store_is_created_at_the_current_version(store: Store) -> None:
    assert store.schema_upgrade is None
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(tables.schema_version.c.version)).scalars().all() == [SCHEMA_VERSION]
