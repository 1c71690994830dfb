"""`shelfwise`: the command line over the engine. A command opens the engine, calls it, prints the result."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer

from shelfwise.cli import render
from shelfwise.cli.audiences import audiences_command, evaluate_audiences_command, evaluate_uplift_command
from shelfwise.cli.context import (
    ConfigOption,
    DatabaseUrlOption,
    DataDirOption,
    EngineOptions,
    OnlineUrlOption,
    engine_command,
    open_engine,
    stdout_console,
)
from shelfwise.cli.demo import demo_command
from shelfwise.cli.evaluate import evaluate_app
from shelfwise.cli.experiments import experiments_app
from shelfwise.cli.keys import keys_app
from shelfwise.cli.quality import quality_app
from shelfwise.cli.steps import ingest_with_status, print_ingest_report, run_server, train_with_status
from shelfwise.domain import Filters, RecommendationKind
from shelfwise.engine import Engine

app = typer.Typer(
    name="shelfwise",
    help="Search and recommendations for online shops, with a data-quality gate in front of everything.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
ingest_app = typer.Typer(
    help="Load products or events from CSV, TSV, JSON lines or Parquet.", no_args_is_help=True
)
app.add_typer(ingest_app, name="ingest")
app.add_typer(evaluate_app, name="evaluate")
evaluate_app.command("uplift")(evaluate_uplift_command)
evaluate_app.command("audiences")(evaluate_audiences_command)
app.add_typer(quality_app, name="quality")
app.add_typer(keys_app, name="keys")
app.add_typer(experiments_app, name="experiments")
app.command("demo")(demo_command)
app.command("audiences")(audiences_command)


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    online_url: OnlineUrlOption = None,
    config: ConfigOption = None,
) -> None:
    """Search and recommendations for online shops, with a data-quality gate in front of everything."""
    ctx.obj = EngineOptions(
        data_dir=data_dir, database_url=database_url, online_url=online_url, config=config
    )


# ingestion ------------------------------------------------------------------------------------------


FileArgument = Annotated[Path, typer.Argument(help="A .csv, .tsv, .jsonl or .parquet file.")]


@ingest_app.command("products")
@engine_command
def ingest_products(file: FileArgument) -> None:
    """Upsert products by product_id; rows that fail the checks are quarantined with their reasons."""
    with closing(open_engine()) as engine:
        _ingest(engine, "products", file)


@ingest_app.command("events")
@engine_command
def ingest_events(file: FileArgument) -> None:
    """Append events (view, click, add_to_cart, purchase, search); bad rows are quarantined."""
    with closing(open_engine()) as engine:
        _ingest(engine, "events", file)


@ingest_app.command("answers")
@engine_command
def ingest_answers(
    file: Annotated[Path, typer.Argument(help="Q&A pairs, JSON lines (gzipped or not).")],
) -> None:
    """Add question-answer pairs (question, answer, product_id, pair_id); empty and repeated pairs are
    kept out and listed. They answer questions after the next `shelfwise train`."""
    with closing(open_engine()) as engine:
        report = engine.answers.import_file(file)
    stdout_console().print_json(report.model_dump_json())


def _ingest(engine: Engine, source: str, file: Path) -> None:
    report, seconds = ingest_with_status(engine, source, file)
    print_ingest_report(report, seconds)


# training -------------------------------------------------------------------------------------------


@app.command()
@engine_command
def train(
    force: Annotated[bool, typer.Option("--force", help="Train even when quality checks fail.")] = False,
    finetune_encoder: Annotated[
        bool,
        typer.Option(
            "--finetune-encoder",
            help="First fine-tune the search encoder on the shop's search outcomes (minutes on CPU).",
        ),
    ] = False,
) -> None:
    """Train search and recommendation models from the store and make them current."""
    with closing(open_engine()) as engine:
        config = None
        if finetune_encoder:
            from shelfwise.training.finetune import FinetuneConfig

            config = engine.settings.training.model_copy(update={"finetune_encoder": FinetuneConfig()})
        manifest, seconds = train_with_status(engine, force=force, config=config)
        stdout_console().print(render.manifest_table(manifest, seconds))


# serving --------------------------------------------------------------------------------------------


@app.command()
@engine_command
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default from settings).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default from settings).")] = None,
) -> None:
    """Serve the HTTP API (docs at /docs)."""
    engine = open_engine()
    run_server(engine, host or engine.settings.host, port or engine.settings.port)


# search and recommendations -------------------------------------------------------------------------


@app.command()
@engine_command
def search(
    query: Annotated[str, typer.Argument(help="What the shopper typed; empty browses the catalog.")],
    category: Annotated[str | None, typer.Option(help="Category path prefix, e.g. 'Home > Bedding'.")] = None,
    brand: Annotated[list[str] | None, typer.Option(help="Only these brands (repeat the option).")] = None,
    price_min: Annotated[float | None, typer.Option(min=0)] = None,
    price_max: Annotated[float | None, typer.Option(min=0)] = None,
    available: Annotated[bool, typer.Option("--available/--any", help="Only products in stock.")] = False,
    page: Annotated[int, typer.Option(min=1)] = 1,
    page_size: Annotated[int, typer.Option(min=1)] = 10,
    user: Annotated[str | None, typer.Option(help="The shopper's user_id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the SearchResult as JSON.")] = False,
) -> None:
    """Search the catalog."""
    filters = Filters(
        category=category,
        brands=brand or [],
        price_min=price_min,
        price_max=price_max,
        available=True if available else None,
    )
    with closing(open_engine()) as engine:
        result = engine.search(query, user_id=user, filters=filters, page=page, page_size=page_size)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        stdout_console().print(render.search_table(result))


@app.command()
@engine_command
def recommend(
    kind: Annotated[RecommendationKind, typer.Argument(help="Which recommendations.")],
    user: Annotated[str | None, typer.Option(help="The shopper's user_id.")] = None,
    session: Annotated[str | None, typer.Option(help="An anonymous session_id.")] = None,
    product: Annotated[str | None, typer.Option(help="The product for similar / bought-together.")] = None,
    n: Annotated[int, typer.Option("-n", min=1, help="How many products.")] = 10,
    category: Annotated[str | None, typer.Option(help="Category path prefix.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Recommendations as JSON.")] = False,
) -> None:
    """Recommend products: for-you, similar, bought-together, trending, recently-viewed."""
    filters = Filters(category=category) if category else None
    with closing(open_engine()) as engine:
        result = engine.recommend(
            kind, user_id=user, session_id=session, product_id=product, n=n, filters=filters
        )
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        stdout_console().print(render.recommendations_table(result))


if __name__ == "__main__":
    app()
