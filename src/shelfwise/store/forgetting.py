"""Deleting a user from the store: their events, the events of every session they had, their profile and the
quarantined rows that carry them, in one transaction; and the log of deletions, which keeps no id."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Text, and_, cast, delete, insert, or_, select, update

from shelfwise.domain.deletion import DeletionRecord
from shelfwise.store import tables

if TYPE_CHECKING:
    from shelfwise.store.repository import Store


@dataclass
class ForgottenRows:
    """What the store removed: the sessions the user had, their events as they were (for the models to
    subtract), and counts per table."""

    session_ids: set[str]
    events: pl.DataFrame
    counts: dict[str, int] = field(default_factory=dict)


def forget_user(store: Store, user_id: str) -> ForgottenRows:
    """Remove the user's events, the anonymous events of their sessions, their users row and every
    quarantined row naming the user or one of those sessions. Events another user made in a shared session
    are theirs and stay. The caller empties SQLite's write-ahead log (`wipe_write_ahead_log`) once every
    table that named the user is done."""
    events = tables.events
    with store.engine.begin() as conn:
        sessions = {
            str(value)
            for value in conn.execute(
                select(events.c.session_id).where(events.c.user_id == user_id).distinct()
            ).scalars()
            if value
        }
        quarantined = _quarantined_naming(conn, {user_id}, "user_id")
        sessions |= {str(raw["session_id"]) for raw in quarantined.values() if raw.get("session_id")}
        theirs = or_(
            events.c.user_id == user_id,
            and_(events.c.session_id.in_(sessions), events.c.user_id.is_(None)),
        )
        frame = store.events_frame(theirs, conn)
        named = set(quarantined) | set(_quarantined_naming(conn, sessions, "session_id"))
        counts = {
            "events": conn.execute(delete(events).where(theirs)).rowcount,
            "users": conn.execute(delete(tables.users).where(tables.users.c.user_id == user_id)).rowcount,
            "quarantined_rows": sum(
                conn.execute(delete(tables.quarantine).where(tables.quarantine.c.id.in_(chunk))).rowcount
                for chunk in _chunks(sorted(named))
            ),
        }
    return ForgottenRows(
        sessions, frame, {"sessions": len(sessions), **{k: int(v) for k, v in counts.items()}}
    )


def wipe_write_ahead_log(store: Store) -> None:
    """After deleting someone: secure_delete (see _sqlite_engine) zeroed their rows in SQLite's database
    pages, but the write-ahead log still holds earlier copies of those pages until it is checkpointed and
    emptied. Nothing to do on PostgreSQL (its dead rows go at VACUUM, as docs/privacy.md says)."""
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _quarantined_naming(conn: Any, values: set[str], field_name: str) -> dict[int, dict[str, Any]]:
    """The quarantined rows (id: raw row) whose raw `field_name` is one of `values`.

    The rows are found by their JSON text and checked once parsed, rather than with the databases' JSON
    operators: PostgreSQL's refuse a whole row holding `\\u0000` anywhere, and a NUL is just what gets a
    row quarantined."""
    quarantine = tables.quarantine
    found: dict[int, dict[str, Any]] = {}
    for value in values:
        # the value as the row's JSON spells it (json.dumps, as SQLAlchemy writes it), without its quotes
        # so that an id sent as a number (`"user_id": 42`) is found too
        spelled = json.dumps(value)[1:-1]
        pattern = "%" + spelled.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = select(quarantine.c.id, quarantine.c.raw).where(
            cast(quarantine.c.raw, Text).like(pattern, escape="\\")
        )
        for entry_id, raw in conn.execute(query):
            named = raw.get(field_name) if isinstance(raw, dict) else None
            if isinstance(named, str | int) and not isinstance(named, bool) and str(named) == value:
                found[int(entry_id)] = raw
    return found


def _chunks(ids: list[int], size: int = 1_000) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


class DeletionLog:
    """The deletions table: one record per deleted user, found again by the digest of their id."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, digest: str, removed: dict[str, int]) -> DeletionRecord:
        now = datetime.now(UTC).replace(tzinfo=None)
        values = {"subject_digest": digest, "requested_at": now, "removed": removed, "models": []}
        with self.store.engine.begin() as conn:
            statement = insert(tables.deletions).values(**values).returning(tables.deletions.c.id)
            ident = conn.execute(statement).scalar_one()
        return self.get(int(ident))

    def update(self, ident: int, **values: Any) -> None:
        """Set `models`, `removed`, `models_cleaned_at` (aware or naive UTC) or `models_error`."""
        moment = values.get("models_cleaned_at")
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            values["models_cleaned_at"] = moment.astimezone(UTC).replace(tzinfo=None)
        with self.store.engine.begin() as conn:
            conn.execute(update(tables.deletions).where(tables.deletions.c.id == ident).values(**values))

    def get(self, ident: int) -> DeletionRecord:
        found = self._select(tables.deletions.c.id == ident)
        if not found:
            raise KeyError(f"no deletion record {ident}")
        return found[0]

    def of_subject(self, digest: str) -> list[DeletionRecord]:
        """Every deletion of that user, oldest first."""
        return self._select(tables.deletions.c.subject_digest == digest)

    def pending(self) -> list[DeletionRecord]:
        """Deletions whose models still await a retrain, oldest first."""
        return self._select(tables.deletions.c.models_cleaned_at.is_(None))

    def _select(self, where: Any) -> list[DeletionRecord]:
        table = tables.deletions
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(table).where(where).order_by(table.c.id)).mappings().all()
        return [
            DeletionRecord(
                id=int(row["id"]),
                subject_digest=row["subject_digest"],
                requested_at=row["requested_at"].replace(tzinfo=UTC),
                removed=dict(row["removed"]),
                models=list(row["models"]),
                models_cleaned_at=row["models_cleaned_at"].replace(tzinfo=UTC)
                if row["models_cleaned_at"] is not None
                else None,
                models_error=row["models_error"],
            )
            for row in rows
        ]
