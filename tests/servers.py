"""The real servers the suite talks to, for fixtures of any scope (tests/conftest.py builds on these)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

POSTGRES_SERVER = os.environ.get(
    "SHELFWISE_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A fresh schema on the real server, dropped afterwards; the store's tables are created inside it."""
    schema = f"shelfwise_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_SERVER)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as error:  # a clear failure, never a silent skip
        pytest.fail(f"PostgreSQL at {POSTGRES_SERVER} is not reachable (.ci/run starts it): {error}")
    try:
        yield f"{POSTGRES_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
