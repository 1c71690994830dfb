"""`shelfwise evaluate`: offline relevance of the production search and of the recommendation models.

With --json the last line printed on stdout is one JSON object of figures, so scripts (bench/run_all.py)
can read it; progress goes to stderr.
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shelfwise.cli.context import CliError, current_settings, engine_command, stderr_console, stdout_console
from shelfwise.domain import Filters, SearchResult
from shelfwise.engine import Engine
from shelfwise.evaluation.recs_eval import evaluate_recs, render_recs_evaluation
from shelfwise.evaluation.search_eval import (
    SearchEvaluation,
    evaluate_search,
    judgements,
    render_search_evaluation,
)
from shelfwise.settings import Settings

evaluate_app = typer.Typer(
    help="Measure search relevance and recommendation accuracy offline.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="End the output with one line of JSON figures.")]


class EngineSearcher:
    """The engine's production search in the shape `evaluate_search` expects, advancing a progress bar."""

    def __init__(self, engine: Engine, progress: Progress | None = None, task: Any = None) -> None:
        self.engine = engine
        self.progress = progress
        self.task = task

    def search(
        self, query: str, filters: Filters | None = None, page: int = 1, page_size: int = 10
    ) -> SearchResult:
        result = self.engine.search(query, filters=filters, page=page, page_size=page_size)
        if self.progress is not None:
            self.progress.advance(self.task)
        return result


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
    )


def scratch_settings(directory: Path) -> Settings:
    """The user's settings with storage pointed at a throwaway directory, so evaluation never touches
    the real store or online state."""
    return current_settings().model_copy(
        update={"data_dir": directory, "database_url": None, "online_url": "memory://"}
    )


def read_csv(path: Path, what: str, string_columns: tuple[str, ...]) -> pl.DataFrame:
    if not path.is_file():
        raise CliError(f"{what} file {path} does not exist")
    try:
        frame = pl.read_csv(
            path, infer_schema_length=10_000, schema_overrides=dict.fromkeys(string_columns, pl.Utf8)
        )
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {what} file {path}: {error}") from error
    if frame.is_empty():
        raise CliError(f"{what} file {path} has no rows")
    return frame


def first_queries(qrels: pl.DataFrame, limit: int | None) -> pl.DataFrame:
    if limit is None:
        return qrels
    if "query" not in qrels.columns:
        return qrels  # judgements() names the missing column
    kept = qrels.get_column("query").unique(maintain_order=True).head(limit)
    return qrels.filter(pl.col("query").is_in(kept.implode()))


@evaluate_app.command("search")
@engine_command
def evaluate_search_command(
    products: Annotated[Path, typer.Option(help="Catalog to index (product_id, title, …).")],
    qrels: Annotated[Path, typer.Option(help="Judgements: query, product_id, gain.")],
    as_json: JsonFlag = False,
    limit_queries: Annotated[int | None, typer.Option(min=1, help="Only the first N queries.")] = None,
) -> None:
    """Index PRODUCTS in a throwaway store, train, and score every judged query: NDCG@10, Recall@100, MRR."""
    judged = first_queries(read_csv(qrels, "qrels", ("query", "product_id")), limit_queries)
    with tempfile.TemporaryDirectory(prefix="shelfwise-eval-") as scratch:
        figures, evaluation = score_search(Path(scratch), products, judged)
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        stdout_console().print(render_search_evaluation(evaluation, title=f"Search relevance on {qrels}"))


def score_search(
    scratch: Path, products: Path, judged: pl.DataFrame
) -> tuple[dict[str, Any], SearchEvaluation]:
    """Ingest and train in a throwaway engine under `scratch`, then run every judged query through it."""
    searched = sum(1 for gains in judgements(judged).values() if any(g > 0 for g in gains.values()))
    console = stderr_console()
    with closing(Engine(scratch_settings(scratch))) as engine:
        started = time.perf_counter()
        with console.status(f"Ingesting {products}…"):
            report = engine.ingest_products(products)
        ingest_seconds = time.perf_counter() - started
        if report.quarantined:
            console.print(
                f"{report.quarantined:,} of {report.total:,} product rows quarantined", soft_wrap=True
            )
        started = time.perf_counter()
        with console.status(f"Training on {report.accepted:,} products…"):
            engine.train()
        train_seconds = time.perf_counter() - started
        with progress_bar() as progress:
            task = progress.add_task("Searching judged queries", total=searched)
            evaluation = evaluate_search(EngineSearcher(engine, progress, task), judged)
    figures = {
        **evaluation.model_dump(exclude={"per_query"}),
        "products": report.accepted,
        "products_quarantined": report.quarantined,
        "ingest_seconds": round(ingest_seconds, 3),
        "train_seconds": round(train_seconds, 3),
    }
    return figures, evaluation


@evaluate_app.command("recs")
@engine_command
def evaluate_recs_command(
    interactions: Annotated[Path, typer.Option(help="user_id, item_id and a position or timestamp column.")],
    items: Annotated[
        Path | None, typer.Option(help="The full item catalog (item_id, …): all are ranked.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Leave-one-out with full ranking: HR@10 and NDCG@10 of the default recommender next to the baselines."""
    frame = read_csv(interactions, "interactions", ("user_id", "item_id"))
    catalog = read_csv(items, "items", ("item_id",)) if items is not None else None
    with stderr_console().status("Fitting and ranking: default, popularity, item-kNN, ALS…"):
        evaluation = evaluate_recs(frame, catalog)
    if as_json:
        figures = {
            **evaluation.dataset.model_dump(),
            "protocol": evaluation.protocol,
            "models": [row.model_dump() for row in evaluation.rows],
        }
        typer.echo(json.dumps(figures))
    else:
        stdout_console().print(render_recs_evaluation(evaluation))
