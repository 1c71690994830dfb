"""Fixtures shared by the suite: store URLs for SQLite and the real PostgreSQL server, a Redis URL, and the
markers that sort tests into tiers. The small catalog and events the project owns are in sample_shop.py."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import redis

from servers import postgres_schema
from shelfwise.engine import Engine
from shelfwise.io.datasets import shared_data_dir
from shelfwise.settings import Settings

REDIS_SERVER = os.environ.get("SHELFWISE_TEST_REDIS", "redis://127.0.0.1:6379/15")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh schema on the real server, dropped afterwards; the store's tables are created inside it."""
    with postgres_schema() as url:
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_SERVER)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis at {REDIS_SERVER} is not reachable (.ci/run starts it): {error}")
    yield REDIS_SERVER
    for key in client.scan_iter("shelfwise:*"):
        client.delete(key)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """Each store test runs against both backends: one code path, two databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def open_engine() -> Iterator[Callable[[Path], Engine]]:
    """Opens an engine on a data directory (as Engine.open does); each is closed when the test ends,
    passed or failed."""
    with ExitStack() as opened:
        yield lambda location: opened.enter_context(Engine.open(location))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of public data sets as the settings give it ($SHELFWISE_DATA, else ../shared/data)."""
    return shared_data_dir(Settings().shared_data)


# Tiers: `pytest -m "not slow"` runs offline in about a minute; `make test` runs everything. A test that
# reaches a server says so through its fixture, so the marker is derived here and never forgotten.
SERVER_MARKERS = {"postgres_url": "postgres", "redis_url": "redis"}
PARAMETRISED_SERVERS = {("store_url", "postgresql"): "postgres", ("state", "redis"): "redis"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        marks = {marker for fixture, marker in SERVER_MARKERS.items() if fixture in names}
        callspec = getattr(item, "callspec", None)
        if callspec is not None:
            marks |= {
                marker
                for (fixture, value), marker in PARAMETRISED_SERVERS.items()
                if callspec.params.get(fixture) == value
            }
        for marker in sorted(marks):
            item.add_marker(getattr(pytest.mark, marker))
