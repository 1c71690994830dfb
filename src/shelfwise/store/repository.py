"""The store: products, events, users and quarantined rows behind one SQLAlchemy code path.

The same code serves SQLite (the embedded default) and PostgreSQL; the URL decides. Writes are batched
executemany statements inside one transaction, which is what makes bulk ingestion fast on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import Text, cast, create_engine, delete, event, false, func, insert, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from shelfwise.domain import Event, EventType, Product
from shelfwise.domain.events import actor_key
from shelfwise.domain.ingest import QuarantinedRow
from shelfwise.io.frames import EVENT_FRAME_SCHEMA
from shelfwise.store import tables
from shelfwise.store.forgetting import DeletionLog, ForgottenRows, forget_user
from shelfwise.store.schema import SchemaUpgrade, ensure_current

_BATCH = 5_000
RowT = TypeVar("RowT")
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's SQLite DateTime stores values


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _aware(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _chunks(rows: Sequence[RowT], size: int = _BATCH) -> Iterator[Sequence[RowT]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


@dataclass
class StoredEvents:
    """What `add_events` wrote: the events newly stored, joined (visible now) or waiting for their
    product, and how many were already stored (the same key) and were not stored again."""

    joined: list[Event] = field(default_factory=list)
    unjoined: list[Event] = field(default_factory=list)
    duplicates: int = 0

    @property
    def stored(self) -> int:
        return len(self.joined) + len(self.unjoined)


class Store:
    """Repositories over the relational schema. Create with `Store.open(url)`."""

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.schema_upgrade: SchemaUpgrade | None = ensure_current(engine)
        self.deletions = DeletionLog(self)

    @classmethod
    def open(cls, url: str) -> Store:
        """A store over the database a SQLAlchemy URL names (its tables created when missing). SQLite gets
        WAL and a shared connection for `:memory:`; PostgreSQL a pool that checks connections first."""
        if url.startswith("sqlite"):
            return cls(_sqlite_engine(url))
        return cls(create_engine(url, pool_pre_ping=True, future=True))

    def close(self) -> None:
        """Close every pooled connection; the store is not used afterwards."""
        self.engine.dispose()

    # products -------------------------------------------------------------------------------------

    def upsert_products(self, products: Sequence[Product]) -> int:
        """Insert or replace by product_id; within one call the last occurrence of an id wins."""
        latest = {p.product_id: p for p in products}
        now = _now()
        rows = [_product_row(p, now) for p in latest.values()]
        insert_ = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                statement = insert_(tables.products)
                updates = {
                    c.name: statement.excluded[c.name]
                    for c in tables.products.columns
                    if c.name != "product_id"
                }
                conn.execute(
                    statement.on_conflict_do_update(index_elements=["product_id"], set_=updates), chunk
                )
        return len(rows)

    def delete_product(self, product_id: str) -> bool:
        """Remove one product (its events stay); False when there was none."""
        with self.engine.begin() as conn:
            result = conn.execute(delete(tables.products).where(tables.products.c.product_id == product_id))
        return bool(result.rowcount)

    def get_product(self, product_id: str) -> Product | None:
        """One product by product_id; None when there is none."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(tables.products).where(tables.products.c.product_id == product_id))
                .mappings()
                .first()
            )
        return None if row is None else _product_from_row(row)

    def products(self, *, offset: int = 0, limit: int | None = None) -> list[Product]:
        """A page of the catalog in product_id order (a stable order to page through); `limit` None
        reads to the end."""
        query = select(tables.products).order_by(tables.products.c.product_id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_product_from_row(row) for row in conn.execute(query).mappings()]

    def last_product_change(self) -> datetime | None:
        """When products were last written (naive UTC), to tell whether a trained index is stale."""
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(tables.products.c.ingested_at))).scalar_one()
        return value if isinstance(value, datetime) or value is None else datetime.fromisoformat(str(value))

    def product_ids(self) -> set[str]:
        """Every stored product_id; one column, so a 100k catalog is cheap to join events against."""
        with self.engine.connect() as conn:
            return {str(value) for value in conn.execute(select(tables.products.c.product_id)).scalars()}

    def count_products(self) -> int:
        """How many products are stored."""
        return self._count(tables.products)

    # events ---------------------------------------------------------------------------------------

    def add_events(self, events: Sequence[Event], catalog_ids: Collection[str] | None = None) -> StoredEvents:
        """Append events, each once: an event whose key is already stored (a retried batch, a re-run
        import) is skipped and counted, and the users table's first/last seen and counts follow what was
        stored. An event naming a product not in the catalog is stored unjoined. `catalog_ids`, the
        caller's view of the catalog, saves asking the database about every product; the store checks the
        events it would leave unjoined against the catalog as it is, inside the same transaction."""
        if not events:
            return StoredEvents()
        unique = list({event_.key: event_ for event_ in events}.items())
        known = catalog_ids if catalog_ids is not None else ()
        rows = [_event_values(e, key, e.product_id is None or e.product_id in known) for key, e in unique]
        with self.engine.begin() as conn:
            inserted = self._insert_events(conn, rows)
            waiting = self._join_inserted(conn, [r for r in rows if not r[_JOINED] and r[_KEY] in inserted])
            self._touch_users(conn, [row for row in rows if row[_KEY] in inserted])
        written = StoredEvents(duplicates=len(events) - len(inserted))
        for key, event_ in unique:
            if key in inserted:
                (written.unjoined if key in waiting else written.joined).append(event_)
        return written

    def _insert_events(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> set[str]:
        """Multi-row INSERT ... ON CONFLICT (event_key) DO NOTHING RETURNING event_key at the driver level,
        which returns the keys actually inserted: SQLAlchemy's per-row parameter processing costs more
        than the insert itself at bulk sizes. SQLite gets timestamps in SQLAlchemy's own text format so that
        rows written either way read back and sort alike."""
        marker = "?" if self.dialect == "sqlite" else "%s"
        one_row = f"({', '.join([marker] * len(_EVENT_COLUMNS))})"
        at = _EVENT_COLUMNS.index("timestamp")
        inserted: set[str] = set()
        for chunk in _chunks(rows, _ROWS_PER_INSERT):
            if self.dialect == "sqlite":
                chunk = [(*row[:at], row[at].strftime(_SQLITE_DATETIME), *row[at + 1 :]) for row in chunk]
            statement = (
                f"INSERT INTO {tables.events.name} ({', '.join(_EVENT_COLUMNS)}) "
                f"VALUES {', '.join([one_row] * len(chunk))} "
                "ON CONFLICT (event_key) DO NOTHING RETURNING event_key"
            )
            values = tuple(value for row in chunk for value in row)
            inserted.update(str(key) for key in conn.exec_driver_sql(statement, values).scalars())
        return inserted

    def _join_inserted(self, conn: Any, waiting: Sequence[tuple[Any, ...]]) -> set[str]:
        """Of the rows just stored unjoined, join those whose product the catalog has now (the caller's
        view may be stale); the keys of those still waiting."""
        products = sorted({row[_PRODUCT] for row in waiting})
        events, catalog = tables.events, tables.products.c.product_id
        for chunk in _chunks(products, 1_000):
            conn.execute(
                update(events)
                .where(events.c.joined == false(), events.c.product_id.in_(list(chunk)))
                .where(events.c.product_id.in_(select(catalog).where(catalog.in_(list(chunk)))))
                .values(joined=true())
            )
        keys = [row[_KEY] for row in waiting]
        still: set[str] = set()
        for chunk in _chunks(keys, 1_000):
            query = select(events.c.event_key).where(
                events.c.event_key.in_(list(chunk)), events.c.joined == false()
            )
            still.update(conn.execute(query).scalars())
        return still

    def join_events(self, product_ids: Sequence[str] | None = None) -> set[str]:
        """Join the stored events waiting for these products (None: for any product now in the catalog),
        as an upsert of those products does; the actors (`user:ID` or `session:ID`) whose events joined."""
        events, catalog = tables.events, tables.products.c.product_id
        statement = (
            update(events)
            .where(events.c.joined == false(), events.c.product_id.in_(select(catalog)))
            .values(joined=true())
            .returning(events.c.user_id, events.c.session_id)
        )
        actors: set[str] = set()
        with self.engine.begin() as conn:
            batches = [None] if product_ids is None else list(_chunks(sorted(set(product_ids)), 1_000))
            for chunk in batches:
                limited = (
                    statement if chunk is None else statement.where(events.c.product_id.in_(list(chunk)))
                )
                actors.update(actor_key(user, session) for user, session in conn.execute(limited).all())
        return actors

    def count_unjoined_events(self) -> int:
        """How many stored events wait for their product to join the catalog."""
        query = select(func.count()).select_from(tables.events).where(tables.events.c.joined == false())
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def check_integrity(self) -> list[str]:
        """What is wrong with the stored data, empty when nothing: SQLite's own integrity check of the
        file, and on both databases events without a key or stored twice under one."""
        problems: list[str] = []
        with self.engine.connect() as conn:
            if self.dialect == "sqlite":
                verdicts = [str(row) for row in conn.exec_driver_sql("PRAGMA integrity_check").scalars()]
                problems.extend(verdict for verdict in verdicts if verdict != "ok")
            events = tables.events
            repeated = conn.execute(
                select(func.count()).select_from(
                    select(events.c.event_key)
                    .group_by(events.c.event_key)
                    .having(func.count() > 1)
                    .subquery()
                )
            ).scalar_one()
            if repeated:
                problems.append(f"{repeated} event keys are stored more than once")
            unkeyed = conn.execute(
                select(func.count())
                .select_from(events)
                .where((events.c.event_key.is_(None)) | (events.c.event_key == ""))
            ).scalar_one()
            if unkeyed:
                problems.append(f"{unkeyed} events have no key")
        return problems

    def _touch_users(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        seen: dict[str, list[Any]] = {}
        user_at, time_at = _EVENT_COLUMNS.index("user_id"), _EVENT_COLUMNS.index("timestamp")
        for row in rows:
            user, moment = row[user_at], row[time_at]
            if user is None:
                continue
            stats = seen.setdefault(user, [moment, moment, 0])
            stats[0] = min(stats[0], moment)
            stats[1] = max(stats[1], moment)
            stats[2] += 1
        if not seen:
            return
        insert_ = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        user_rows = [
            {"user_id": u, "first_seen": s[0], "last_seen": s[1], "event_count": s[2]}
            for u, s in seen.items()
        ]
        for chunk in _chunks(user_rows):
            statement = insert_(tables.users)
            current = tables.users.c
            conn.execute(
                statement.on_conflict_do_update(
                    index_elements=["user_id"],
                    set_={
                        "first_seen": func.min(current.first_seen, statement.excluded.first_seen)
                        if self.dialect == "sqlite"
                        else func.least(current.first_seen, statement.excluded.first_seen),
                        "last_seen": func.max(current.last_seen, statement.excluded.last_seen)
                        if self.dialect == "sqlite"
                        else func.greatest(current.last_seen, statement.excluded.last_seen),
                        "event_count": current.event_count + statement.excluded.event_count,
                    },
                ),
                chunk,
            )

    def history(
        self, *, user_id: str | None = None, session_id: str | None = None, limit: int = 200
    ) -> list[Event]:
        """The latest events of a user (or an anonymous session), oldest first."""
        column = tables.events.c.user_id if user_id is not None else tables.events.c.session_id
        key = user_id if user_id is not None else session_id
        query = (
            select(tables.events)
            .where(column == key, tables.events.c.joined == true())
            .order_by(tables.events.c.timestamp.desc(), tables.events.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        return [_event_from_row(row) for row in reversed(rows)]

    def events_frame(self, where: Any = None, conn: Any = None) -> pl.DataFrame:
        """Every joined event (or those of them `where` selects, read on `conn` when given) as a frame, for
        training and evaluation (events waiting for their product are left out until it arrives)."""
        columns = [tables.events.c[name] for name in Event.model_fields]
        query = (
            select(*columns)
            .where(tables.events.c.joined == true())
            .order_by(tables.events.c.timestamp, tables.events.c.id)
        )
        if where is not None:
            query = query.where(where)
        if conn is not None:
            rows = conn.execute(query).all()
        else:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        return pl.DataFrame(rows, schema=EVENT_FRAME_SCHEMA, orient="row")

    def count_events(self) -> int:
        """How many events are stored, joined or waiting for their product (quarantined rows are not)."""
        return self._count(tables.events)

    def count_users(self) -> int:
        """How many users have at least one stored event (anonymous sessions are not users)."""
        return self._count(tables.users)

    def known_users(self, user_ids: Sequence[str]) -> set[str]:
        """Those of `user_ids` that have a profile (at least one stored event)."""
        users = tables.users
        query = select(users.c.user_id).where(users.c.user_id.in_(list(user_ids)))
        with self.engine.connect() as conn:
            return {str(user_id) for user_id in conn.execute(query).scalars()}

    def most_active_users(self, limit: int) -> list[tuple[str, int]]:
        """The users with the most stored events, with their event counts, most active first."""
        users = tables.users
        query = select(users.c.user_id, users.c.event_count).order_by(users.c.event_count.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [(str(user_id), int(count)) for user_id, count in conn.execute(query).all()]

    def forget_user(self, user_id: str) -> ForgottenRows:
        """Delete a user's events, their sessions' anonymous events, their profile and the quarantined rows
        naming them or those sessions (shelfwise.store.forgetting); returns what went, with counts."""
        return forget_user(self, user_id)

    # quarantine -----------------------------------------------------------------------------------

    def add_quarantined(self, rows: Sequence[QuarantinedRow]) -> int:
        """Keep rows the quality gate quarantined, raw values and reasons, to list, export and retry."""
        now = _now()
        records = [
            {
                "source": r.source,
                "file": r.file,
                "line": r.line,
                "raw": r.raw,
                "reasons": r.reasons,
                "created_at": now,
            }
            for r in rows
        ]
        if records:
            with self.engine.begin() as conn:
                for chunk in _chunks(records):
                    conn.execute(insert(tables.quarantine), chunk)
        return len(records)

    def quarantined(
        self,
        *,
        source: str | None = None,
        ids: Sequence[int] | None = None,
        offset: int = 0,
        limit: int | None = 100,
    ) -> list[QuarantinedRow]:
        """Stored quarantine entries with their ids, oldest first; `ids` picks entries, `limit` None all."""
        table = tables.quarantine
        query = select(table).order_by(table.c.id).offset(offset).limit(limit)
        if source is not None:
            query = query.where(table.c.source == source)
        if ids is not None:
            query = query.where(table.c.id.in_(list(ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            QuarantinedRow(
                id=int(r["id"]),
                source=r["source"],
                file=r["file"],
                line=int(r["line"]),
                raw=dict(r["raw"]),
                reasons=list(r["reasons"]),
            )
            for r in rows
        ]

    def quarantine_reasons(self, source: str | None = None) -> dict[tuple[str, tuple[str, ...]], list[int]]:
        """The ids of the quarantined rows, oldest first, by their source and reasons, without the raw rows:
        enough to count and filter a large quarantine by check. Rows are grouped by the JSON text of their
        reasons, each distinct text decoded once (a flood of bad rows repeats a few reason lists)."""
        table = tables.quarantine
        query = select(table.c.id, table.c.source, cast(table.c.reasons, Text)).order_by(table.c.id)
        if source is not None:
            query = query.where(table.c.source == source)
        by_text: dict[tuple[str, str], list[int]] = {}
        with self.engine.connect() as conn:
            for ident, origin, text in conn.execute(query):
                ids = by_text.get((origin, text))
                if ids is None:
                    ids = by_text[origin, text] = []
                ids.append(ident)
        grouped: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        for (origin, text), ids in by_text.items():
            grouped.setdefault((str(origin), tuple(json.loads(text))), []).extend(ids)
        return grouped

    def resolve_quarantined(self, released: Sequence[int], still_failing: Mapping[int, list[str]]) -> None:
        """After a retry, in one transaction: remove the entries that passed, and give those that still
        fail their new reasons."""
        table = tables.quarantine
        with self.engine.begin() as conn:
            if released:
                conn.execute(delete(table).where(table.c.id.in_(list(released))))
            for ident, reasons in still_failing.items():
                conn.execute(update(table).where(table.c.id == ident).values(reasons=reasons))

    def discard_quarantined(self, source: str, ids: Sequence[int] | None = None) -> int:
        """Delete quarantined rows of `source` (those of `ids`, or all); returns how many were deleted."""
        table = tables.quarantine
        statement = delete(table).where(table.c.source == source)
        if ids is not None:
            statement = statement.where(table.c.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return int(conn.execute(statement).rowcount or 0)

    def count_quarantined(self, source: str | None = None) -> int:
        """How many rows are quarantined, of one source (products or events) or of both."""
        query = select(func.count()).select_from(tables.quarantine)
        if source is not None:
            query = query.where(tables.quarantine.c.source == source)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def _count(self, table: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _sqlite_engine(url: str) -> SqlEngine:
    in_memory = url in ("sqlite://", "sqlite:///:memory:")
    if not in_memory:
        database = url.split("///", 1)[-1]
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        connect_args={"check_same_thread": False},
        # One shared connection keeps an in-memory database alive across calls.
        **({"poolclass": StaticPool} if in_memory else {}),
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the API read while an import writes; NORMAL sync is safe with WAL and much faster.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA secure_delete=ON")  # a deleted user's rows are zeroed, not left in free pages
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: bulk inserts keep the indexes in memory
        cursor.close()

    return engine


def _product_row(product: Product, now: datetime) -> dict[str, Any]:
    row = product.model_dump()
    row["created_at"] = _naive_utc(product.created_at)
    row["updated_at"] = _naive_utc(product.updated_at)
    row["ingested_at"] = now
    return row


def _product_from_row(row: Any) -> Product:
    values = {key: row[key] for key in Product.model_fields}
    values["created_at"] = _aware(values["created_at"])
    values["updated_at"] = _aware(values["updated_at"])
    return Product.model_construct(**values)


_EVENT_COLUMNS = (*Event.model_fields, "event_key", "joined")
_PRODUCT, _KEY, _JOINED = (_EVENT_COLUMNS.index(name) for name in ("product_id", "event_key", "joined"))
_ROWS_PER_INSERT = 500  # rows per INSERT statement: well under either database's limit on parameters


def _event_values(event_: Event, key: str, joined: bool) -> tuple[Any, ...]:
    """One events-table row in _EVENT_COLUMNS order, timestamp as naive UTC."""
    moment = event_.timestamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (
        event_.user_id,
        event_.session_id,
        event_.event_type.value,
        event_.product_id,
        event_.query,
        moment,
        event_.quantity,
        event_.price,
        event_.request_id,
        event_.event_id,
        key,
        joined,
    )


def _event_from_row(row: Any) -> Event:
    values = {key: row[key] for key in Event.model_fields}
    values["event_type"] = EventType(values["event_type"])
    values["timestamp"] = _aware(values["timestamp"])
    return Event.model_construct(**values)
