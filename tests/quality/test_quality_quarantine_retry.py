"""Quarantined rows can be listed, exported, fixed and retried; events of unknown products are not
quarantined but wait unjoined, and join when their product arrives."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import update
from typer.testing import CliRunner

from sample_shop import catalog_rows, event_rows
from shelfwise.cli.quality import quality_app
from shelfwise.engine import Engine
from shelfwise.store import tables

runner = CliRunner()


def test_events_for_unknown_products_join_when_the_catalog_arrives(
    tmp_path: Path, open_engine: Callable[[Path], Engine]
) -> None:
    engine = open_engine(tmp_path / "data")
    engine.ingest_products(catalog_rows()[:5])
    report = engine.ingest_events(event_rows())
    known = {f"p{i}" for i in range(1, 6)}
    held = [row for row in event_rows() if row.get("product_id") and row["product_id"] not in known]
    assert (report.quarantined, report.unjoined, report.accepted) == (0, len(held), report.total)
    assert engine.events_frame().height == len(event_rows()) - len(held)
    engine.ingest_products(catalog_rows())
    assert engine.store.count_unjoined_events() == 0
    assert engine.events_frame().height == engine.store.count_events() == len(event_rows())
    assert engine.retry_quarantined("events").tried == 0


def test_export_fix_and_retry_a_file(tmp_path: Path, open_engine: Callable[[Path], Engine]) -> None:
    engine = open_engine(tmp_path / "data")
    engine.ingest_products(
        [
            {"product_id": "a", "title": "Oak table", "price": "12,5,0"},
            {"product_id": "b", "title": "Pine desk", "price": "abc"},
        ]
    )
    out = tmp_path / "fix.csv"
    assert engine.export_quarantine(out, "products") == 2
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["_quarantine_reasons"] for row in rows] == [
        "price: '12,5,0' is not a number",
        "price: 'abc' is not a number",
    ]
    rows[0]["price"] = "12.50"
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = engine.retry_quarantine_file("products", out)
    assert (result.released, result.still_quarantined) == (1, 1)
    assert engine.get_product("a").price == 12.5
    assert engine.get_product("a").attributes == {}, "export columns do not leak into attributes"
    left = engine.quarantined("products")
    assert [entry.raw["product_id"] for entry in left] == ["b"]


def test_cli_quarantine_commands(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Engine.open(data) as engine:
        engine.ingest_products(catalog_rows())
        wished = [{**row, "event_type": "wishlist"} for row in event_rows()]
        engine.ingest_events([*event_rows(), *wished])  # half unreadable: not refused whole
    listed = runner.invoke(quality_app, ["quarantine", "list", "--source", "events", "--data-dir", str(data)])
    assert listed.exit_code == 0, listed.output
    assert "event_type" in listed.output
    exported = runner.invoke(
        quality_app,
        ["quarantine", "export", str(tmp_path / "q.jsonl"), "--source", "events", "--data-dir", str(data)],
    )
    assert exported.exit_code == 0 and (tmp_path / "q.jsonl").read_text().count("\n") > 10
    retried = runner.invoke(
        quality_app, ["quarantine", "retry", "--source", "events", "--data-dir", str(data)]
    )
    assert retried.exit_code == 0, retried.output
    assert "0 accepted and released" in retried.output


def test_retry_judges_each_row_once_even_when_files_share_line_numbers(
    tmp_path: Path, open_engine: Callable[[Path], Engine]
) -> None:
    """Rows from two files with the same line numbers: each is matched to its own outcome, passing rows
    are stored from that one pass, and a row still failing keeps its own entry and origin."""
    engine = open_engine(tmp_path / "data")
    engine.ingest_products([{"product_id": "a", "title": "Oak table"}])
    for name, product in (("first.csv", "a"), ("second.csv", "never")):
        path = tmp_path / name
        path.write_text(f"user_id,event_type,product_id,timestamp\nu1,view,{product},2099-01-01T10:00:00Z\n")
        assert engine.ingest_events(path).quarantined == 1
    # The first row's clock is fixed in the quarantine itself: its timestamp now passes.
    [first, _] = engine.quarantined("events")
    with engine.store.engine.begin() as conn:
        table = tables.quarantine
        fixed = {**first.raw, "timestamp": "2026-01-01T10:00:00Z"}
        conn.execute(update(table).where(table.c.id == first.id).values(raw=fixed))

    result = engine.retry_quarantined("events")

    assert (result.tried, result.released, result.still_quarantined) == (2, 1, 1)
    [left] = engine.quarantined("events")
    assert (left.file.endswith("second.csv"), left.line, left.raw["product_id"]) == (True, 2, "never")
    assert [e.product_id for e in engine.store.history(user_id="u1")] == ["a"]
