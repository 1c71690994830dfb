"""The contract of `shelfwise quality check --json`, tiers, and training behind the gate."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sample_shop import catalog_rows, event_rows
from shelfwise.api import create_api
from shelfwise.cli.quality import quality_app
from shelfwise.engine import Engine
from shelfwise.io.demo import write_demo_shop
from shelfwise.io.writers import write_rows
from shelfwise.quality.html import render_html
from shelfwise.quality.reporting import check_files
from shelfwise.training.trainer import TrainingBlockedError

runner = CliRunner()


def dirty_files(tmp_path: Path) -> tuple[Path, Path]:
    products = [
        *catalog_rows(),
        {"product_id": "p11", "title": "Linen &amp; cotton  throw", "category": "Home > Textiles"},
        {"product_id": "p12", "title": "Desk lamp", "price": "abc"},
        {"product_id": "p1", "title": "Oak dining table (old row)"},
    ]
    at = datetime(2026, 11, 1, tzinfo=UTC)
    events = [
        *event_rows(),
        {"user_id": "u1", "event_type": "view", "product_id": "p404", "timestamp": at.isoformat()},
        {"user_id": "u1", "event_type": "view", "product_id": "p8", "timestamp": "2030-01-01T00:00:00Z"},
    ]
    events.append(dict(events[0]))  # an exact duplicate event
    paths = tmp_path / "products.csv", tmp_path / "events.csv"
    write_rows(paths[0], products)
    write_rows(paths[1], events)
    return paths


def test_check_writes_the_contract_json(tmp_path: Path) -> None:
    products, events = dirty_files(tmp_path)
    out = tmp_path / "report.json"
    result = runner.invoke(
        quality_app,
        [
            "check",
            "--products",
            str(products),
            "--events",
            str(events),
            "--json",
            str(out),
            "--data-dir",
            str(tmp_path / "data"),
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    rows = {(row["file"], row["line"]): row for row in document["rows"]}
    for row in document["rows"]:
        assert set(row) >= {"file", "line", "product_id", "user_id", "outcome", "checks"}
        assert row["outcome"] in {"accepted", "repaired", "quarantined", "excluded"} and row["checks"]
    assert rows[("products", 12)]["outcome"] == "repaired"
    assert rows[("products", 12)]["checks"] == ["product.doubled_whitespace", "product.html_residue"]
    assert rows[("products", 13)]["outcome"] == "quarantined"
    assert rows[("products", 2)]["checks"] == ["product.duplicate_id"], "the older p1 row loses"
    n_events = len(event_rows())
    assert rows[("events", n_events + 2)]["checks"] == ["event.unknown_product"]
    assert rows[("events", n_events + 3)]["checks"] == ["event.future_timestamp"]
    assert rows[("events", n_events + 4)]["outcome"] == "excluded"
    assert document["checks"]["product.html_residue"] == 1
    assert {tier["tier"] for tier in document["tiers"]} >= {"lexical_search", "personalisation"}
    assert all("check" in warning and "message" in warning for warning in document["warnings"])
    for summary in (document["products"], document["events"]):
        parts = summary["accepted"] + summary["repaired"] + summary["excluded"] + summary["quarantined"]
        assert parts == summary["rows"]
    assert document["products"]["rows"] == len(catalog_rows()) + 3
    assert "Feature tiers" in result.output


def test_html_report_has_the_plots(tmp_path: Path) -> None:
    products, events = dirty_files(tmp_path)
    page = render_html(check_files(products, events).report)
    assert page.count("<svg") == 5
    assert "Field coverage" in page and "Event-type funnel" in page and "p404" in page


def test_the_tiny_test_shop_trains_with_personalisation_not_unlocked(
    tmp_path: Path, open_engine: Callable[[Path], Engine]
) -> None:
    engine = open_engine(tmp_path / "data")
    engine.ingest_products(catalog_rows())
    engine.ingest_events(event_rows())
    manifest = engine.train()
    assert not manifest.forced
    assert manifest.components["quality"]["tiers"]["lexical_search"] == "unlocked"
    assert manifest.components["quality"]["tiers"]["personalisation"] == "not_unlocked"
    assert any(note.startswith("tier personalisation: not_unlocked") for note in manifest.notes)
    report = engine.quality_report()
    assert report is not None and report.source == "store"


def bot_heavy_engine(engine: Engine) -> Engine:
    engine.ingest_products(catalog_rows())
    engine.ingest_events(event_rows())
    start = datetime(2026, 10, 30, tzinfo=UTC)
    bot: list[dict[str, Any]] = [
        {
            "user_id": "bot",
            "event_type": "view",
            "product_id": f"p{1 + i % 10}",
            "timestamp": (start + timedelta(seconds=i)).isoformat(),
        }
        for i in range(300)
    ]
    engine.ingest_events(bot)
    return engine


def test_training_refuses_on_a_blocking_check_naming_it(
    tmp_path: Path, open_engine: Callable[[Path], Engine]
) -> None:
    engine = bot_heavy_engine(open_engine(tmp_path / "data"))
    with pytest.raises(TrainingBlockedError, match=r"personalisation: events\.bot_share") as refused:
        engine.train()
    assert "--force" in str(refused.value)
    assert engine.manifest is None


def test_force_trains_and_records_the_override_and_the_exclusions(
    tmp_path: Path, open_engine: Callable[[Path], Engine]
) -> None:
    engine = bot_heavy_engine(open_engine(tmp_path / "data"))
    manifest = engine.train(force=True)
    assert manifest.forced
    assert manifest.notes[0].startswith(
        "forced over blocking quality checks — personalisation: events.bot_share"
    )
    assert manifest.components["quality"]["excluded_events"]["event.bot"] == 300
    assert manifest.data.events == len(event_rows())


def test_get_quality_serves_the_latest_report(tmp_path: Path) -> None:
    with Engine.open(tmp_path / "data") as engine, TestClient(create_api(engine)) as client:
        assert client.get("/v1/quality").status_code == 404
        engine.ingest_products(catalog_rows())
        engine.train()
        body = client.get("/v1/quality").json()
    assert body["tiers"][0]["tier"] == "lexical_search"
    assert body["figures"]["coverage"]["price"] == 1.0


def test_the_demo_shop_passes_every_blocking_check(tmp_path: Path) -> None:
    products, events = write_demo_shop(tmp_path, n_products=300, n_users=120, days=21)
    report = check_files(products, events, now=datetime(2026, 6, 2, tzinfo=UTC)).report
    assert [tier.status for tier in report.tiers] == ["unlocked"] * 4
    assert report.products is not None and report.products.quarantined == 0
    assert report.events is not None and report.events.quarantined == 0
    assert not [w for w in report.warnings if w.severity == "error"]
