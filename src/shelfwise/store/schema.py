"""Schema versions and the explicit steps between them, run when a store is opened.

A new database is created at the current version. One created by an older shelfwise is upgraded in one
transaction, under a lock so that two processes opening it at once upgrade it once: version 1 (no
`schema_version` table, events without keys) to 2 adds each event's idempotency key (backfilled from its
content, as `shelfwise.domain.events.event_key` makes it), removes the repeated events an older import
stored twice (the same key: what a re-run import left), recounts the users they inflated, and marks the
events whose product is not in the catalog as unjoined. A plain table of versions is enough for this one
step; Alembic would bring a migration environment and Mako for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import Index, bindparam, delete, false, func, insert, inspect, select, update

from shelfwise.domain import Event, EventType
from shelfwise.domain.events import event_key
from shelfwise.store import tables

SCHEMA_VERSION = 2
_BACKFILL_BATCH = 20_000
_UPGRADE_LOCK = 0x5E1F_0001  # PostgreSQL advisory lock id: one process upgrades, the others wait

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchemaUpgrade:
    """What opening an older store changed: the versions, the events keyed, the repeats removed."""

    from_version: int
    to_version: int
    events_keyed: int = 0
    duplicates_removed: int = 0
    unjoined: int = 0

    def describe(self) -> str:
        return (
            f"store schema upgraded from version {self.from_version} to {self.to_version}: "
            f"{self.events_keyed} events keyed, {self.duplicates_removed} stored twice removed, "
            f"{self.unjoined} waiting for their product"
        )


def ensure_current(engine: SqlEngine) -> SchemaUpgrade | None:
    """Create missing tables and bring an older schema to SCHEMA_VERSION; what changed, or None."""
    tables.metadata.create_all(engine)
    with engine.connect() as conn:
        if _stored_version(conn) == SCHEMA_VERSION:
            return None
    with engine.connect() as conn:
        _lock(conn)
        version = _version(conn)  # under the lock: another process may have upgraded meanwhile
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"the store has schema version {version}, newer than this shelfwise knows "
                f"({SCHEMA_VERSION}): upgrade shelfwise"
            )
        upgrade = None
        if version < 2:
            upgrade = _to_version_2(conn)
        conn.execute(delete(tables.schema_version))
        conn.execute(insert(tables.schema_version).values(version=SCHEMA_VERSION))
        conn.commit()
    if upgrade is not None:
        logger.warning(upgrade.describe())
    return upgrade


def _lock(conn: Any) -> None:
    """Take the write lock before reading the version, so that one process upgrades and the rest wait."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(select(func.pg_advisory_xact_lock(_UPGRADE_LOCK)))


def _stored_version(conn: Any) -> int | None:
    stored = conn.execute(select(func.max(tables.schema_version.c.version))).scalar_one()
    return None if stored is None else int(stored)


def _version(conn: Any) -> int:
    stored = _stored_version(conn)
    if stored is not None:
        return int(stored)
    columns = {column["name"] for column in inspect(conn).get_columns(tables.events.name)}
    # A database without a version row was either just created (by this shelfwise) or is version 1.
    return SCHEMA_VERSION if "event_key" in columns else 1


def _to_version_2(conn: Any) -> SchemaUpgrade:
    events = tables.events
    postgres = conn.dialect.name == "postgresql"
    conn.exec_driver_sql(f"ALTER TABLE {events.name} ADD COLUMN event_id VARCHAR(256)")
    # SQLite adds a NOT NULL column only with a default; PostgreSQL sets it once every row has its key.
    key_column = "VARCHAR(32)" if postgres else "VARCHAR(32) NOT NULL DEFAULT ''"
    conn.exec_driver_sql(f"ALTER TABLE {events.name} ADD COLUMN event_key {key_column}")
    conn.exec_driver_sql(f"ALTER TABLE {events.name} ADD COLUMN joined BOOLEAN NOT NULL DEFAULT TRUE")
    keyed = _backfill_keys(conn)
    if postgres:
        conn.exec_driver_sql(f"ALTER TABLE {events.name} ALTER COLUMN event_key SET NOT NULL")
    removed = _remove_repeats(conn)
    if removed:
        _recount_users(conn)
    unjoined = conn.execute(
        update(events)
        .where(events.c.product_id.is_not(None))
        .where(events.c.product_id.not_in(select(tables.products.c.product_id)))
        .values(joined=false())
    ).rowcount
    index: Index
    for index in (tables.events_key_index, tables.events_unjoined_index):
        index.create(conn)
    return SchemaUpgrade(1, 2, keyed, removed, int(unjoined or 0))


def _backfill_keys(conn: Any) -> int:
    """Every stored event gets its key, in batches by id so that a large store is not read at once."""
    events = tables.events
    columns = [events.c[name] for name in ("id", *Event.model_fields) if name != "event_id"]
    setter = update(events).where(events.c.id == bindparam("row_id")).values(event_key=bindparam("key"))
    last, keyed = 0, 0
    while True:
        query = select(*columns).where(events.c.id > last).order_by(events.c.id).limit(_BACKFILL_BATCH)
        rows = conn.execute(query).mappings().all()
        if not rows:
            return keyed
        keys = [{"row_id": row["id"], "key": event_key(_stored_event(row))} for row in rows]
        conn.execute(setter, keys)
        last, keyed = rows[-1]["id"], keyed + len(rows)


def _remove_repeats(conn: Any) -> int:
    """Delete every event whose key an earlier row (a lower id) has; how many. A plain index on the key
    first, so that each row finds its earlier twin by a lookup, not a scan, however large the store."""
    events = tables.events
    # Plain DDL: an sqlalchemy Index over the table's columns would join the table's own definition.
    conn.exec_driver_sql(f"CREATE INDEX ix_events_key_upgrade ON {events.name} (event_key)")
    earlier = events.alias("earlier")
    twin = (
        select(earlier.c.id)
        .where(earlier.c.event_key == events.c.event_key, earlier.c.id < events.c.id)
        .exists()
    )
    removed = conn.execute(delete(events).where(twin)).rowcount
    conn.exec_driver_sql("DROP INDEX ix_events_key_upgrade")
    return int(removed or 0)


def _stored_event(row: Any) -> Event:
    values = {name: row[name] for name in Event.model_fields if name != "event_id"}
    values["event_type"] = EventType(values["event_type"])
    return Event.model_construct(**values)


def _recount_users(conn: Any) -> None:
    """The users table counted the removed repeats: recount it from the events that remain."""
    events, users = tables.events, tables.users
    conn.execute(delete(users))
    counted = (
        select(
            events.c.user_id,
            func.min(events.c.timestamp),
            func.max(events.c.timestamp),
            func.count(),
        )
        .where(events.c.user_id.is_not(None))
        .group_by(events.c.user_id)
    )
    conn.execute(insert(users).from_select(["user_id", "first_seen", "last_seen", "event_count"], counted))
