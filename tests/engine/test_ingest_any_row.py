"""Whatever value a field holds, ingestion gives its row an outcome (stored, or quarantined with its
reasons) and never raises, on SQLite and on PostgreSQL: the gate, not the database, refuses a value. Every
field of a valid row is set in turn to each value at the edges of what the parser or a backend takes."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sample_shop import catalog_rows
from shelfwise.engine import Engine
from shelfwise.io.parsing import EVENT_FIELDS, PRODUCT_FIELDS
from shelfwise.settings import Settings

EDGE_VALUES: list[Any] = [
    *(0, -1, 1, 2**31 - 1, 2**31, 2**63, 10**30, -(10**30), 10**400, 1e308, 0.5, 1e-320),
    *(math.nan, math.inf, -math.inf, Decimal("NaN"), Decimal("1e400"), True, None),
    *(
        "",
        " ",
        "\x00",
        "a\x00b",
        "x" * 65,
        "x" * 300,
        "NaN",
        "-inf",
        "1e400",
        "🛋️ sofa",
        "\ud7ff",
        "\ud800",
        "a\udfffb",
    ),
    *("9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "99999999999999", "2024-02-30"),
    *(datetime(1, 1, 1), date(9999, 12, 31), [1, "a"], {"k\x00": "v\x00"}, {"nested": {"x": [math.nan]}}),
]


def _rows(base: dict[str, Any], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{**base, field: value} for field in (*fields, "colour") for value in EDGE_VALUES]


@pytest.fixture
def engine(store_url: str, tmp_path: Path) -> Iterator[Engine]:
    # The grid is mostly bad values on purpose: a real shop's batch that bad is refused whole, but here
    # each row must get its own outcome.
    limits = {"refuse_invalid_share": 1.0}
    settings = Settings(data_dir=tmp_path / "data", database_url=store_url, quality={"limits": limits})
    with Engine(settings) as opened:
        opened.ingest_products(catalog_rows())
        yield opened


def test_any_value_of_a_product_field_is_stored_or_quarantined(engine: Engine) -> None:
    rows = _rows({"product_id": "x1", "title": "Lamp", "price": 10}, PRODUCT_FIELDS)
    report = engine.ingest_products(rows)
    assert report.accepted + report.quarantined == len(rows)
    assert report.quarantined and all(row.reasons for row in engine.quarantined(limit=None))


def test_any_value_of_an_event_field_is_stored_or_quarantined(engine: Engine) -> None:
    base = {"user_id": "u1", "event_type": "purchase", "product_id": "p1", "timestamp": datetime.now(UTC)}
    rows = _rows(base, EVENT_FIELDS)
    report = engine.ingest_events(rows)
    assert report.accepted + report.quarantined == len(rows)
    assert report.quarantined and all(row.reasons for row in engine.quarantined(limit=None))
