"""Event checks: joins, timestamps, duplicates, funnels and bots, on events the tests make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sample_shop import event_rows
from shelfwise.io.readers import RawRow
from shelfwise.quality.config import QualityConfig
from shelfwise.quality.gate import GatedFile, gate_events

NOW = datetime(2026, 11, 2, tzinfo=UTC)
CATALOG = {f"p{i}" for i in range(1, 11)}


def gate(rows: list[dict[str, Any]], config: QualityConfig | None = None) -> GatedFile:
    raw = [RawRow(line=position + 2, data=row) for position, row in enumerate(rows)]
    return gate_events(raw, "events.csv", config, CATALOG, now=NOW)


def event(
    user: str, kind: str, product: str | None, moment: datetime, session: str | None = None
) -> dict[str, Any]:
    row: dict[str, Any] = {"user_id": user, "event_type": kind, "timestamp": moment.isoformat()}
    if product is not None:
        row["product_id"] = product
    if session is not None:
        row["session_id"] = session
    return row


def outcomes(result: GatedFile) -> dict[int, tuple[str, set[str]]]:
    return {row.line: (row.outcome, set(row.checks)) for row in result.results()}


def test_the_test_events_are_plainly_accepted() -> None:
    result = gate(event_rows())
    assert result.results() == []
    assert len(result.stored) == len(event_rows())


def test_types_and_bad_timestamps_are_quarantined_and_unknown_products_kept_apart() -> None:
    at = NOW - timedelta(days=1)
    rows = [
        event("u1", "view", "p404", at),
        {"user_id": "u1", "event_type": "like", "product_id": "p1", "timestamp": at.isoformat()},
        event("u1", "view", "p1", NOW + timedelta(days=3)),
        event("u1", "view", "p2", datetime(1990, 1, 1, tzinfo=UTC)),
        event("u1", "view", "p3", NOW + timedelta(seconds=30)),
    ]
    result = gate(rows)
    assert outcomes(result) == {
        2: ("excluded", {"event.unknown_product"}),
        3: ("quarantined", {"event.unknown_event_type"}),
        4: ("quarantined", {"event.future_timestamp"}),
        5: ("quarantined", {"event.timestamp_before_shop"}),
    }
    assert result.flags.by_row()[0] == {"event.unknown_product": "product_id 'p404' is not in the catalog"}
    assert len(result.stored) == 2, "stored: p404 (to wait for its product) and 30 s ahead (within skew)"


def test_duplicates_are_excluded_but_kept() -> None:
    at = NOW - timedelta(hours=2)
    rows = [
        event("u1", "view", "p1", at, "s1"),
        event("u1", "view", "p1", at + timedelta(seconds=2), "s1"),
        event("u1", "view", "p1", at + timedelta(minutes=5), "s1"),
        event("u2", "view", "p1", at + timedelta(seconds=1), "s2"),
    ]
    result = gate(rows)
    assert outcomes(result) == {3: ("excluded", {"event.duplicate"})}
    assert len(result.stored) == 4 and result.excluded == [1]


def test_purchase_without_a_view_in_the_session_is_flagged() -> None:
    at = NOW - timedelta(hours=2)
    rows = [
        event("u1", "view", "p1", at, "s1"),
        event("u1", "purchase", "p1", at + timedelta(minutes=1), "s1"),
        event("u1", "add_to_cart", "p2", at + timedelta(minutes=2), "s1"),
        event("u1", "view", "p2", at + timedelta(minutes=3), "s1"),
    ]
    assert outcomes(gate(rows)) == {4: ("accepted", {"event.cart_without_view"})}


def test_bots_by_rate_regularity_and_breadth_are_excluded_and_named() -> None:
    start = NOW - timedelta(days=1)
    rows = [
        event("human", "view", f"p{1 + i % 10}", start + timedelta(minutes=7 * i + i % 3)) for i in range(40)
    ]
    rows += [event("fast", "view", f"p{1 + i % 10}", start + timedelta(seconds=i * 0.5)) for i in range(120)]
    rows += [event("clock", "click", f"p{1 + i % 10}", start + timedelta(seconds=30 * i)) for i in range(40)]
    catalog = {f"x{i}" for i in range(300)}
    crawl = [
        event("crawler", "view", f"x{i}", start + timedelta(seconds=7 * i + (i % 5)), "c1")
        for i in range(250)
    ]
    raw = [RawRow(line=i + 2, data=row) for i, row in enumerate(rows + crawl)]
    result = gate_events(raw, "events.csv", QualityConfig(), CATALOG | catalog, now=NOW)
    reasons = {bot.actor: bot.reason for bot in result.bots}
    assert set(reasons) == {"user:fast", "user:clock", "user:crawler"}
    assert "within 60 s" in reasons["user:fast"]
    assert "regular" in reasons["user:clock"]
    assert "250 products" in reasons["user:crawler"]
    excluded = {row.user_id for row in result.results() if row.outcome == "excluded"}
    assert excluded == {"fast", "clock", "crawler"}
    assert len(result.stored) == len(rows) + len(crawl)
    warning = next(w for w in result.warnings if w.check == "events.bot_users")
    assert {user["actor"] for user in warning.data["users"]} == set(reasons)


def test_volume_trend_and_minimums_are_dataset_warnings_not_row_checks() -> None:
    rows = []
    for day in range(20):
        per_day = 50 if day < 19 else 3
        moment = NOW - timedelta(days=20 - day)
        rows += [
            event(f"u{i}", "view", f"p{1 + i % 10}", moment + timedelta(minutes=i)) for i in range(per_day)
        ]
    result = gate(rows)
    checks = {warning.check for warning in result.warnings}
    assert {"events.truncated_last_day", "events.too_few_interactions", "events.volume"} <= checks
    assert "events.too_few_repeat_users" not in checks
    assert result.results() == []
