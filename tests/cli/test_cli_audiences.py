"""`shelfwise evaluate uplift` and `shelfwise audiences` end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from campaign_data import campaign_frame, write_campaign_csv
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
