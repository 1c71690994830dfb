"""`shelfwise experiments` end to end: create (bad arms named), start, list, results with the decision."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from shelfwise.cli.main import app
from shelfwise.engine import Engine

runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})


def test_experiments_are_created_started_listed_and_read(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path)]
    refused = runner.invoke(app, ["experiments", "create", "x", "--arm", "a=0.5", "--arm", "b=0.6", *data])
    assert refused.exit_code == 1 and "sum to 1" in refused.output
    malformed = runner.invoke(app, ["experiments", "create", "x", "--arm", "a", *data])
    assert malformed.exit_code == 1 and "NAME=SHARE" in malformed.output
    created = runner.invoke(
        app, ["experiments", "create", "ranker", "--arm", "control=0.5", "--arm", "ltr=0.5", *data]
    )
    assert created.exit_code == 0, created.output
    match = re.search(r"Created (\w+) .*: 8158 visitors per arm", created.output)
    assert match, created.output
    ident = match.group(1)
    assert runner.invoke(app, ["experiments", "start", ident, *data]).exit_code == 0
    with Engine.open(tmp_path) as engine:
        engine.experiments.assign(ident, user_id="u1")
    listing = runner.invoke(app, ["experiments", "list", *data])
    assert "ranker" in listing.output and "running" in listing.output
    read = runner.invoke(app, ["experiments", "results", ident, *data])
    assert read.exit_code == 0, read.output
    assert "too early" in read.output and "ltr" in read.output
    assert runner.invoke(app, ["experiments", "results", "nope", *data]).exit_code == 1
