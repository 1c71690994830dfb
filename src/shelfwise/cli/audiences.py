"""`shelfwise audiences` (who to show an advert for a product, a category or a campaign) and the
evaluations of audiences and campaign uplift (`shelfwise evaluate audiences|uplift`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from shelfwise.audiences.campaign_test import campaign_test
from shelfwise.cli.context import CliError, engine_command, stderr_console, stdout_console
from shelfwise.cli.evaluate import JsonFlag, read_csv
from shelfwise.evaluation.uplift_eval import UpliftEvaluation, evaluate_uplift


def render_uplift(evaluation: UpliftEvaluation, title: str) -> Table:
    table = Table(title=title)
    for column in ("targeting", "Qini", "95% interval", "uplift@30%", "95% interval", "customers"):
        table.add_column(column, justify="left" if column == "targeting" else "right")
    for row in evaluation.rows:
        m = row.metrics
        table.add_row(
            row.name,
            f"{m.qini:.3f}",
            "{:.3f} … {:.3f}".format(*m.qini_interval),
            f"{m.uplift_at_30:+.4f}",
            "{:+.4f} … {:+.4f}".format(*m.uplift_at_30_interval),
            f"{m.customers:,}",
        )
    return table


@engine_command
def evaluate_uplift_command(
    data: Annotated[
        Path, typer.Option(help="A randomised campaign test, as hillstrom-email-targeting's CSV.")
    ],
    as_json: JsonFlag = False,
    outcome: Annotated[str, typer.Option(help="The 0/1 outcome column to raise.")] = "conversion",
    seed: Annotated[int, typer.Option(help="Seeds the half split and the random peer.")] = 0,
) -> None:
    """Learn who should get which campaign on a seeded half of DATA; on the other half report the Qini
    coefficient and the uplift at the top 30% of the default learner, its peers and random targeting."""
    frame = read_csv(data, "campaign test", ("segment",))
    try:
        test = campaign_test(frame, outcome=outcome)
    except ValueError as error:
        raise CliError(f"{data}: {error}") from error
    with stderr_console().status(f"Learning uplift on half of {len(test):,} customers…"):
        evaluation = evaluate_uplift(test, seed=seed)
    console = stderr_console()
    console.print(evaluation.protocol, soft_wrap=True)
    output = console if as_json else stdout_console()
    output.print(render_uplift(evaluation, f"Campaign uplift on {data} ({outcome})"))
    if as_json:
        typer.echo(json.dumps(evaluation.model_dump(mode="json")))
