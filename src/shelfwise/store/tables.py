"""The relational schema, one definition for SQLite and PostgreSQL.

Timestamps are stored as naive UTC: SQLite has no time zones, and one convention for both backends keeps
a single code path.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    true,
)

metadata = MetaData()

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_ID = BigInteger().with_variant(Integer(), "sqlite")

products = Table(
    "products",
    metadata,
    Column("product_id", String(256), primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("category", Text),
    Column("brand", Text),
    Column("price", Float),
    Column("currency", String(16)),
    Column("attributes", JSON, nullable=False),
    Column("image_url", Text),
    Column("available", Boolean, nullable=False),
    Column("created_at", DateTime),
    Column("updated_at", DateTime),
    Column("ingested_at", DateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("user_id", String(256)),
    Column("session_id", String(256)),
    Column("event_type", String(16), nullable=False),
    Column("product_id", String(256)),
    Column("query", Text),
    Column("timestamp", DateTime, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", Float),
    Column("request_id", String(64)),
    Column("event_id", String(256)),
    # The idempotency key (shelfwise.domain.events.event_key): a retried batch or a re-run import stores
    # nothing twice. Unique, and written with ON CONFLICT DO NOTHING.
    Column("event_key", String(32), nullable=False),
    # False while the event's product is not in the catalog: kept, but out of training and of the
    # real-time features until an upsert of that product joins it.
    Column("joined", Boolean, nullable=False, server_default=true()),
    Index("ix_events_user_time", "user_id", "timestamp"),
    Index("ix_events_session_time", "session_id", "timestamp"),
    Index("ix_events_product", "product_id"),
)
events_key_index = Index("ux_events_key", events.c.event_key, unique=True)
# Only the few events waiting for their product: an upsert finds them without scanning the rest.
events_unjoined_index = Index(
    "ix_events_unjoined",
    events.c.product_id,
    sqlite_where=events.c.joined == false(),
    postgresql_where=events.c.joined == false(),
)

# One row: the schema version this database was created with or upgraded to (shelfwise.store.schema).
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(256), primary_key=True),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("event_count", Integer, nullable=False),
)

# One row per user deletion: the user only as a digest, the counts and model outcomes as JSON.
deletions = Table(
    "deletions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("subject_digest", String(64), nullable=False),
    Column("requested_at", DateTime, nullable=False),
    Column("removed", JSON, nullable=False),
    Column("models", JSON, nullable=False),
    Column("models_cleaned_at", DateTime),
    Column("models_error", Text),
    Index("ix_deletions_subject", "subject_digest"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False),
    Column("file", Text, nullable=False),
    Column("line", Integer, nullable=False),
    Column("raw", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Index("ix_quarantine_source", "source"),
)

# A shop's own question-answer pairs (FAQ, past replies, product Q&A), kept with the checks that flagged
# them (space-separated check names; empty when none did).
qa_pairs = Table(
    "qa_pairs",
    metadata,
    Column("seq", _ID, primary_key=True, autoincrement=True),
    Column("pair_id", String(256), nullable=False, unique=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("product_id", String(256)),
    Column("flags", Text, nullable=False),
)

# What customers asked that nothing answered: personal data where a user or session is named.
unanswered_questions = Table(
    "unanswered_questions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("question", Text, nullable=False),
    Column("product_id", String(256)),
    Column("asked_at", DateTime, nullable=False),
    Column("user_id", String(256)),
    Column("session_id", String(256)),
    Index("ix_unanswered_user", "user_id"),
    Index("ix_unanswered_session", "session_id"),
)

# A/B experiments (docs/experiments.md): the definition as JSON, and each unit's first exposure; exposures
# name users or sessions, personal data removed with the user.
experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", String(64), primary_key=True),
    Column("definition", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("stopped_at", DateTime),
)

experiment_exposures = Table(
    "experiment_exposures",
    metadata,
    Column("experiment_id", String(64), primary_key=True),
    Column("unit_id", String(256), primary_key=True),
    Column("arm", String(100), nullable=False),
    Column("first_exposed_at", DateTime, nullable=False),
    Index("ix_exposures_unit", "unit_id"),
)
