"""The store: products, events, users and quarantined rows behind one SQLAlchemy code path.

The same code serves SQLite (the embedded default) and PostgreSQL; the URL decides. Writes are batched
executemany statements inside one transaction, which is what makes bulk ingestion fast on SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import create_engine, delete, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.pool import StaticPool

from shelfwise.domain import Event, EventType, Product
from shelfwise.domain.ingest import QuarantinedRow
from shelfwise.store import tables
from shelfwise.store.forgetting import DeletionLog, ForgottenRows, forget_user

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


class Store:
    """Repositories over the relational schema. Create with `Store.open(url)`."""

    def __init__(self, engine: SqlEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        tables.metadata.create_all(engine)
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

    def add_events(self, events: Sequence[Event]) -> int:
        """Append events and keep the users table's first/last seen and counts up to date."""
        if not events:
            return 0
        rows = [_event_values(e) for e in events]
        with self.engine.begin() as conn:
            self._insert_events(conn, rows)
            self._touch_users(conn, rows)
        return len(rows)

    def _insert_events(self, conn: Any, rows: Sequence[tuple[Any, ...]]) -> None:
        """Driver-level executemany of plain tuples: SQLAlchemy's per-row parameter processing costs more
        than the insert itself at bulk sizes. SQLite gets timestamps in SQLAlchemy's own text format so that
        rows written either way read back and sort alike."""
        marker = "?" if self.dialect == "sqlite" else "%s"
        placeholders = ", ".join([marker] * len(_EVENT_COLUMNS))
        statement = f"INSERT INTO {tables.events.name} ({', '.join(_EVENT_COLUMNS)}) VALUES ({placeholders})"
        at = _EVENT_COLUMNS.index("timestamp")
        for chunk in _chunks(rows, 20_000):
            if self.dialect == "sqlite":
                chunk = [(*row[:at], row[at].strftime(_SQLITE_DATETIME), *row[at + 1 :]) for row in chunk]
            conn.exec_driver_sql(statement, list(chunk))

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
            .where(column == key)
            .order_by(tables.events.c.timestamp.desc(), tables.events.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(query).mappings())
        return [_event_from_row(row) for row in reversed(rows)]

    def events_frame(self, where: Any = None, conn: Any = None) -> pl.DataFrame:
        """Every event (or those `where` selects, read on `conn` when given) as a frame, for training and
        evaluation."""
        columns = [c for c in tables.events.columns if c.name != "id"]
        query = select(*columns).order_by(tables.events.c.timestamp, tables.events.c.id)
        if where is not None:
            query = query.where(where)
        schema: dict[str, pl.DataType | type[pl.DataType]] = {
            "user_id": pl.Utf8,
            "session_id": pl.Utf8,
            "event_type": pl.Utf8,
            "product_id": pl.Utf8,
            "query": pl.Utf8,
            "timestamp": pl.Datetime("us"),
            "quantity": pl.Int64,
            "price": pl.Float64,
            "request_id": pl.Utf8,
        }
        if conn is not None:
            rows = conn.execute(query).all()
        else:
            with self.engine.connect() as own:
                rows = own.execute(query).all()
        return pl.DataFrame(rows, schema=schema, orient="row")

    def count_events(self) -> int:
        """How many events are stored (quarantined rows are not)."""
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

    def resolve_quarantined(self, released: Sequence[int], still_failing: Mapping[int, list[str]]) -> None:
        """After a retry, in one transaction: remove the entries that passed, and give those that still
        fail their new reasons."""
        table = tables.quarantine
        with self.engine.begin() as conn:
            if released:
                conn.execute(delete(table).where(table.c.id.in_(list(released))))
            for ident, reasons in still_failing.items():
                conn.execute(update(table).where(table.c.id == ident).values(reasons=reasons))

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


_EVENT_COLUMNS = tuple(c.name for c in tables.events.columns if c.name != "id")


def _event_values(event_: Event) -> tuple[Any, ...]:
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
    )


def _event_from_row(row: Any) -> Event:
    values = {key: row[key] for key in Event.model_fields}
    values["event_type"] = EventType(values["event_type"])
    values["timestamp"] = _aware(values["timestamp"])
    return Event.model_construct(**values)
