"""Bounds on one ingest: rows per request, batches that are mostly unreadable, how much of the quarantine
one request or source may fill, and how large a kept row may be. Whatever is not kept is counted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from browser_session import admin_login
from shelfwise.api import create_api
from shelfwise.app import create_app
from shelfwise.cli.main import app as cli
from shelfwise.domain.errors import BatchRefusedError, BatchTooLargeError
from shelfwise.engine import Engine
from shelfwise.io.readers import RAW_TRUNCATED_KEY
from shelfwise.settings import Settings
from shelfwise.web.quarantine_view import list_quarantine

PRODUCTS = [{"product_id": f"p{i}", "title": f"Oak lamp {i}"} for i in range(5)]


def _engine(directory: Path, **limits: Any) -> Engine:
    engine = Engine(Settings(data_dir=directory, quality={"limits": limits}))
    engine.ingest_products(PRODUCTS)
    return engine


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with _engine(tmp_path / "data", max_request_rows=100, refuse_min_invalid_rows=50) as opened:
        yield opened


def _future_events(n: int) -> list[dict[str, Any]]:
    """Events that read well but are dated after now: quarantined, yet not unreadable."""
    return [
        {"user_id": "u1", "event_type": "view", "product_id": "p1", "timestamp": f"2099-05-{1 + i % 28:02d}"}
        | {"session_id": f"s{i}"}
        for i in range(n)
    ]


def _unknown_product_events(n: int) -> list[dict[str, Any]]:
    """Events that read well but wait for their product: stored unjoined, not unreadable."""
    return [
        {"user_id": "u1", "event_type": "view", "product_id": f"later-{i}", "timestamp": "2026-05-20"}
        for i in range(n)
    ]


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_a_request_over_the_row_limit_is_refused_before_anything_is_stored(engine: Engine) -> None:
    with pytest.raises(BatchTooLargeError, match=r"101 rows in one request; at most 100"):
        engine.ingest_events([{}] * 101, from_request=True)
    assert engine.count_quarantined() == 0 and engine.count_events() == 0
    # the limit is on requests: a file or a Python list is an import
    assert engine.ingest_events(_unknown_product_events(101)).total == 101


def test_the_api_answers_413_naming_the_row_limit(engine: Engine) -> None:
    with TestClient(create_api(engine)) as client:
        response = client.post("/v1/events", json=[{}] * 101)
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "too_many_rows"
    assert "max_request_rows" in error["message"] and error["details"] == {"max_request_rows": 100}
    assert engine.count_quarantined() == 0


def test_a_mostly_unreadable_request_is_refused_whole_with_its_top_reasons(engine: Engine) -> None:
    good = [{"user_id": "u1", "event_type": "view", "product_id": "p1"}] * 10
    with TestClient(create_api(engine)) as client:
        response = client.post("/v1/events", json=[*good, *[{}] * 90])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "batch_refused"
    assert "90 of 100 rows (90%) cannot be read as events" in error["message"]
    assert "event.missing_required on 90 rows" in error["message"]
    assert error["details"]["reasons_by_check"] == {"event.missing_required": 90}
    assert engine.count_events() == 0 and engine.count_quarantined() == 0, "nothing is stored"


def test_a_batch_half_unreadable_or_waiting_for_its_products_is_not_refused(tmp_path: Path) -> None:
    with _engine(tmp_path / "data", refuse_min_invalid_rows=10) as engine:
        good = [{"user_id": "u1", "event_type": "view", "product_id": "p1", "timestamp": "2026-05-20"}]
        half = engine.ingest_events(good * 10 + [{"user_id": "u1"}] * 10)
        assert (half.accepted, half.quarantined) == (10, 10)
        waiting = engine.ingest_events(_unknown_product_events(50))
        assert (waiting.unjoined, waiting.quarantined) == (50, 0), "good rows waiting for the catalog"
        future = engine.ingest_events(_future_events(50))
        assert future.quarantined == 50, "rows refused for what they say are not unreadable"
        with pytest.raises(BatchRefusedError, match=r"product\.missing_required on 11 rows"):
            engine.ingest_products([{"product_id": "p1", "title": "Renamed lamp"}, *[{"title": "x"}] * 11])
        assert engine.get_product("p1").title == "Oak lamp 1", "nothing of a refused batch is stored"


def test_a_mostly_unreadable_file_fails_clearly_through_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _engine(data).close()
    garbage = _write_jsonl(tmp_path / "events.jsonl", [{"colour": "red"}] * 150)
    runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})
    result = runner.invoke(cli, ["--data-dir", str(data), "ingest", "events", str(garbage)])
    assert result.exit_code == 1
    assert "refused whole, nothing stored: 150 of 150 rows" in " ".join(result.output.split())
    with Engine.open(data) as engine:
        assert engine.count_quarantined() == 0


def test_one_request_adds_at_most_its_share_to_the_quarantine_and_counts_the_rest(tmp_path: Path) -> None:
    with _engine(tmp_path / "data", max_quarantined_per_request=10) as engine:
        report = engine.ingest_events(_future_events(50), from_request=True)
        assert (report.total, report.quarantined, report.quarantine_not_kept) == (50, 50, 40)
        assert report.not_kept_by_check == {"event.future_timestamp": 40}
        assert "max_quarantined_per_request" in report.notices[0]
        kept = engine.quarantined(limit=None)
        assert [row.raw["session_id"] for row in kept] == [f"s{i}" for i in range(10)], "the first"


def test_a_source_quarantine_stops_growing_at_its_limit_for_files_too(tmp_path: Path) -> None:
    with _engine(tmp_path / "data", max_quarantined_per_source=30) as engine:
        file = _write_jsonl(tmp_path / "events.jsonl", _future_events(50))
        first = engine.ingest_events(file)
        assert (first.quarantined, first.quarantine_not_kept) == (50, 20)
        second = engine.ingest_events(file)
        assert (second.quarantined, second.quarantine_not_kept) == (50, 50)
        assert "the events quarantine holds 30 rows" in second.notices[0]
        assert engine.count_quarantined("events") == 30
        assert engine.ingest_products([{"product_id": "x"}]).quarantine_not_kept == 0, "per source"


def test_a_huge_row_is_kept_cut_short_with_its_size_and_is_not_retried_as_is(tmp_path: Path) -> None:
    with _engine(tmp_path / "data", max_raw_chars=2_000) as engine:
        description = "soft " * 200_000
        report = engine.ingest_products([{"product_id": "big", "description": description}])
        assert report.quarantined == 1
        (kept,) = engine.quarantined(limit=None)
        assert len(json.dumps(kept.raw)) < 2_100
        assert kept.raw["product_id"] == "big"
        assert kept.raw["description"].startswith("soft soft") and kept.raw["description"].endswith("…")
        assert kept.raw[RAW_TRUNCATED_KEY]["original_chars"] > 1_000_000
        assert report.quarantined_rows[0].raw == kept.raw, "the report does not echo the row back either"
        assert engine.retry_quarantined("products").not_retryable == 1


def test_the_quarantine_page_reads_only_the_rows_it_shows(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine.ingest_events(_future_events(60))
    engine.ingest_events([{"user_id": "u1", "event_type": "teleport", "timestamp": "2026-05-20"}] * 30)
    whole_rows_read: list[int] = []
    quarantined = engine.quarantined

    def counting(*args: Any, **kwargs: Any) -> Any:
        rows = quarantined(*args, **kwargs)
        whole_rows_read.append(len(rows))
        return rows

    monkeypatch.setattr(engine, "quarantined", counting)
    listing = list_quarantine(engine, "events", "event.unknown_event_type", offset=20, limit=7)
    assert listing.matching == 30 and len(listing.rows) == 7
    assert all(names == ["event.unknown_event_type"] for _, names in listing.rows)
    assert listing.checks == {"event.future_timestamp": 60, "event.unknown_event_type": 30}
    ids = [row.id for row in engine.quarantined("events", limit=None)]
    assert [row.id for row, _ in listing.rows] == ids[80:87]
    assert sum(whole_rows_read[:-1]) == 7, "only the page is read whole"


def test_the_cli_says_which_limit_was_reached_and_discards_to_make_room(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _engine(data).close()
    (tmp_path / "shelfwise.toml").write_text("[quality.limits]\nmax_quarantined_per_source = 5\n")
    events = _write_jsonl(tmp_path / "events.jsonl", _future_events(8))
    runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})
    base = ["--data-dir", str(data), "--config", str(tmp_path / "shelfwise.toml")]
    ingested = runner.invoke(cli, [*base, "ingest", "events", str(events)])
    assert ingested.exit_code == 0, ingested.output
    printed = " ".join(ingested.output.split())
    assert "Limit reached: 3 of 8 quarantined rows were not kept" in printed
    assert "5 of them are kept" in printed
    refused = runner.invoke(cli, [*base, "quality", "quarantine", "discard", "--source", "events"])
    assert refused.exit_code != 0, "discarding everything must be asked for"
    discarded = runner.invoke(cli, [*base, "quality", "quarantine", "discard", "--source", "events", "--all"])
    assert "Discarded 5 quarantined events rows" in discarded.output
    with Engine.open(data) as engine:
        assert engine.count_quarantined("events") == 0


def test_the_admin_page_says_when_a_quarantine_is_full(tmp_path: Path) -> None:
    key = "admin-key-for-bounds"
    limits = {"max_quarantined_per_source": 5}
    settings = Settings(data_dir=tmp_path / "data", admin_api_key=key, quality={"limits": limits})
    with Engine(settings) as engine:
        engine.ingest_products(PRODUCTS)
        with TestClient(create_app(engine)) as client:
            admin_login(client, key)
            assert "data-quarantine-full" not in client.get("/admin/quality").text
            engine.ingest_events(_future_events(8))
            page = client.get("/admin/quality").text
    assert "The events quarantine is full (5 rows, the limit being 5)" in page
    assert "The products quarantine is full" not in page
