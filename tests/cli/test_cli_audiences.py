"""`shelfwise evaluate uplift` and `shelfwise audiences` end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from campaign_data import campaign_frame, write_campaign_csv
from sample_shop import catalog_rows, event_rows
from shelfwise.cli.main import app

runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})


def test_evaluate_uplift_ends_with_the_default_row_then_its_peers(tmp_path: Path) -> None:
    data = write_campaign_csv(tmp_path / "campaign.csv")
    result = runner.invoke(app, ["evaluate", "uplift", "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    names = [row["name"] for row in figures["rows"]]
    assert names[0] == "two-model, best campaign"
    assert names[-1] == "random"
    assert {"qini", "uplift_at_30"} <= set(figures["rows"][0]["metrics"])
    assert figures["rows"][0]["metrics"]["qini"] > figures["rows"][-1]["metrics"]["qini"]


def test_evaluate_uplift_names_what_is_wrong_with_the_file(tmp_path: Path) -> None:
    data = tmp_path / "campaign.csv"
    campaign_frame(n=40).drop("segment").write_csv(data)
    result = runner.invoke(app, ["evaluate", "uplift", "--data", str(data)])
    assert result.exit_code != 0
    assert "missing column(s) segment" in result.output


def test_audiences_writes_a_csv_of_the_engine_s_audience(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    products = tmp_path / "products.jsonl"
    events = tmp_path / "events.jsonl"
    products.write_text("".join(json.dumps(row) + "\n" for row in catalog_rows()))
    recent = datetime.now(UTC) - timedelta(hours=1)
    events.write_text("".join(json.dumps(row) + "\n" for row in event_rows(recent)))
    for command in (["ingest", "products", str(products)], ["ingest", "events", str(events)], ["train"]):
        assert runner.invoke(app, [*data, *command]).exit_code == 0
    out = tmp_path / "audience.csv"
    result = runner.invoke(app, [*data, "audiences", "--product", "p10", "--size", "5", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "rank,user_id,score" and len(lines) == 6
    assert {line.split(",")[1] for line in lines[1:]} <= {f"u{n}" for n in range(0, 40, 4)}
    unknown = runner.invoke(app, [*data, "audiences", "--product", "nope"])
    assert unknown.exit_code != 0 and "not in the trained catalog: 'nope'" in unknown.output


def test_evaluate_audiences_on_a_small_demo_shop_puts_the_default_first() -> None:
    arguments = ["evaluate", "audiences", "--demo-products", "200", "--demo-users", "150", "--no-sequential"]
    result = runner.invoke(app, [*arguments, "--min-buyers", "2", "--size", "20", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    names = [row["name"] for row in figures["rows"]]
    assert names == ["for-you share (co-occurrence)", "popularity of user", "last category"]
    for row in figures["rows"]:
        assert 0 <= row["metrics"]["recall"] <= 1 and 0 <= row["metrics"]["auc"] <= 1


def test_evaluate_audiences_needs_both_files_or_neither(tmp_path: Path) -> None:
    result = runner.invoke(app, ["evaluate", "audiences", "--interactions", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "give both --interactions and --items" in result.output
