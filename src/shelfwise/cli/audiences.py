"""`shelfwise audiences` (who to show an advert for a product, a category or a campaign) and the
evaluations of audiences and campaign uplift (`shelfwise evaluate audiences|uplift`)."""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path
from typing import Annotated

import polars as pl
import typer
from rich.table import Table

from shelfwise.audiences.campaign_test import campaign_test
from shelfwise.cli.context import (
    CliError,
    current_settings,
    engine_command,
    open_engine,
    stderr_console,
    stdout_console,
)
from shelfwise.cli.evaluate import EpochBar, JsonFlag, read_csv
from shelfwise.evaluation.audience_eval import (
    AudienceEvaluation,
    beauty_split,
    demo_shop_split,
    evaluate_audiences,
)
from shelfwise.evaluation.uplift_eval import UpliftEvaluation, evaluate_uplift, save_report
from shelfwise.io.demo import generate_demo_shop
from shelfwise.recommend.kinds import RecommendationConfig


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
    save: Annotated[
        bool, typer.Option("--save", help="Keep the figures in the data dir for the admin Audiences page.")
    ] = False,
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
    evaluation = evaluation.model_copy(update={"data": data.name, "outcome": outcome})
    console = stderr_console()
    if save:
        console.print(f"Saved to {save_report(evaluation, current_settings().data_dir)}", soft_wrap=True)
    console.print(evaluation.protocol, soft_wrap=True)
    output = console if as_json else stdout_console()
    output.print(render_uplift(evaluation, f"Campaign uplift on {data} ({outcome})"))
    if as_json:
        typer.echo(json.dumps(evaluation.model_dump(mode="json")))


def render_audience_evaluation(evaluation: AudienceEvaluation, title: str) -> Table:
    table = Table(title=title)
    for column in ("audience by", f"precision@{evaluation.size}", f"recall@{evaluation.size}", "AUC"):
        table.add_column(column, justify="left" if column == "audience by" else "right")
    for row in evaluation.rows:
        m = row.metrics
        table.add_row(row.name, f"{m.precision:.4f}", f"{m.recall:.4f}", f"{m.auc:.4f}")
    return table


@engine_command
def evaluate_audiences_command(
    interactions: Annotated[
        Path | None,
        typer.Option(
            help="Amazon-Beauty-format user_id, item_id, position (each user's last is the future)."
        ),
    ] = None,
    items: Annotated[
        Path | None, typer.Option(help="Its items: item_id, title, s3rec_attribute_ids (the category).")
    ] = None,
    as_json: JsonFlag = False,
    size: Annotated[int, typer.Option(min=1, help="Audience size: precision and recall of the top N.")] = 100,
    products: Annotated[int, typer.Option(min=1, help="Products evaluated (a seeded draw).")] = 50,
    min_buyers: Annotated[int, typer.Option(min=1, help="Fewest buyers after the cut per product.")] = 5,
    held_out_days: Annotated[
        float, typer.Option(min=1, help="Demo shop (no --interactions): the cut is this long before its end.")
    ] = 14.0,
    demo_products: Annotated[int, typer.Option(min=40, help="Products in the generated demo shop.")] = 5000,
    demo_users: Annotated[int, typer.Option(min=10, help="Users in the generated demo shop.")] = 1500,
    sequential_seconds: Annotated[
        float | None,
        typer.Option(min=1, help="The transformer's training budget in CPU seconds (default: the engine's)."),
    ] = None,
    sequential: Annotated[
        bool, typer.Option("--sequential/--no-sequential", help="Train the transformer as the engine does.")
    ] = True,
    seed: int = 0,
) -> None:
    """Audiences over time: built from the history before a cut, scored against who bought each product
    after it (precision and recall of the top SIZE, AUC), next to popularity-of-user and last-category.
    With --interactions and --items on that data set; without, on the generated demo shop."""
    if (interactions is None) != (items is None):
        raise CliError("give both --interactions and --items, or neither (the demo shop)")
    if interactions is not None and items is not None:
        data = read_csv(interactions, "interactions", ("user_id", "item_id"))
        catalog = read_csv(items, "items", ("item_id", "title", "s3rec_attribute_ids"))
        missing = {"user_id", "item_id", "position"} - set(data.columns)
        if missing or "item_id" not in catalog.columns:
            raise CliError(
                f"interactions need user_id, item_id, position; items need item_id (missing {missing})"
            )
        split = beauty_split(data, catalog.with_columns(*_optional_text(catalog)))
        label = str(interactions)
    else:
        shop = generate_demo_shop(n_products=demo_products, n_users=demo_users)
        split = demo_shop_split(shop, held_out_days)
        label = f"the demo shop ({demo_products} products, {demo_users} users, last {held_out_days:g} days)"
    config = RecommendationConfig(sequential_enabled=sequential)
    if sequential_seconds is not None:
        config = config.model_copy(
            update={"sequential": config.sequential.model_copy(update={"max_seconds": sequential_seconds})}
        )
    with EpochBar() as epochs:
        try:
            evaluation = evaluate_audiences(
                *split,
                config=config,
                size=size,
                n_products=products,
                min_buyers=min_buyers,
                seed=seed,
                progress=epochs,
            )
        except ValueError as error:
            raise CliError(str(error)) from error
    console = stderr_console()
    console.print(evaluation.protocol, soft_wrap=True)
    output = console if as_json else stdout_console()
    output.print(render_audience_evaluation(evaluation, f"Audiences on {label}"))
    if as_json:
        typer.echo(evaluation.model_dump_json())


def _optional_text(catalog: pl.DataFrame) -> list[pl.Expr]:
    return [
        pl.lit(None, dtype=pl.Utf8).alias(c)
        for c in ("title", "s3rec_attribute_ids")
        if c not in catalog.columns
    ]


@engine_command
def audiences_command(
    product: Annotated[str | None, typer.Option(help="One product's audience.")] = None,
    category: Annotated[str | None, typer.Option(help="A category path prefix's audience.")] = None,
    products: Annotated[str | None, typer.Option(help="A campaign: product ids separated by commas.")] = None,
    size: Annotated[int, typer.Option(min=1, help="Most users listed.")] = 1000,
    exclude_buyers_days: Annotated[
        float, typer.Option(min=0, help="Leave out who bought a target product in these days.")
    ] = 30.0,
    segment: Annotated[
        str | None, typer.Option(help="Only this customer segment's members (shelfwise segments ids).")
    ] = None,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write rank,user_id,score to this file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Audience as JSON.")] = False,
) -> None:
    """The users most likely to act next on a product, a category or a campaign, best first."""
    with closing(open_engine()) as engine:
        audience = engine.audience(
            product_id=product,
            category=category,
            product_ids=products.split(",") if products is not None else None,
            size=size,
            exclude_buyers_days=exclude_buyers_days,
            segment=segment,
        )
    if csv is not None:
        try:
            csv.write_text(audience.csv(), encoding="utf-8")
        except OSError as error:
            raise CliError(f"cannot write {csv}: {error}") from error
        stderr_console().print(f"{len(audience.members):,} users written to {csv}", soft_wrap=True)
    if as_json:
        typer.echo(audience.model_dump_json(indent=2))
    elif csv is None:
        table = Table(
            title=f"Audience for {audience.target} ({audience.excluded_buyers:,} recent buyers left out)"
        )
        for column in ("rank", "user_id", "score"):
            table.add_column(column, justify="left" if column == "user_id" else "right")
        for member in audience.members:
            table.add_row(str(member.rank), member.user_id, f"{member.score:.4g}")
        stdout_console().print(table)
