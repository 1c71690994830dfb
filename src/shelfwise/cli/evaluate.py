"""`shelfwise evaluate`: offline relevance of the production search and of the recommendation models.

With --json the last line printed on stdout is one JSON object of figures, so scripts (bench/run_all.py)
can read it; progress goes to stderr.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Self

import numpy as np
import polars as pl
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from shelfwise.cli.context import CliError, current_settings, engine_command, stderr_console, stdout_console
from shelfwise.cli.evaluate_answers import evaluate_answers_command, evaluate_replies_command
from shelfwise.cli.render import (
    render_ablation,
    render_image_evaluation,
    render_personal_evaluation,
    render_recs_evaluation,
    render_recs_segments,
    render_search_evaluation,
    render_segment_evaluation,
)
from shelfwise.evaluation.customer_segments_eval import evaluate_segments, read_transactions
from shelfwise.evaluation.image_eval import ImageEvalConfig, evaluate_images
from shelfwise.evaluation.recs_eval import evaluate_recs, item_texts
from shelfwise.experiments.personal_search import PersonalEvalConfig, run_demo_evaluation
from shelfwise.experiments.search_relevance import score_search
from shelfwise.images.encoder import missing_extra
from shelfwise.io.demo import generate_demo_shop
from shelfwise.policy.open_bandit import check_open_bandit
from shelfwise.recommend.kinds import RecommendationConfig
from shelfwise.text.encoder import TextEncoder

evaluate_app = typer.Typer(
    help="Measure search relevance and recommendation accuracy offline.", no_args_is_help=True
)

JsonFlag = Annotated[bool, typer.Option("--json", help="End the output with one line of JSON figures.")]


def progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=stderr_console(),
    )


class EpochBar:
    """The transformer's epochs as a progress bar on stderr, shown from its first epoch (a callback for
    `SequentialRecommender`); use as a context manager so the bar closes."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: Any = None

    def __call__(self, epoch: int, epochs: int, status: str) -> None:
        if self._progress is None:
            self._progress = Progress(
                TextColumn("sasrec epoch"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[status]}"),
                console=stderr_console(),
            )
            self._progress.start()
            self._task = self._progress.add_task("sasrec", total=epochs, status="")
        self._progress.update(self._task, completed=epoch, status=status)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        if self._progress is not None:
            self._progress.stop()


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
    held_out: Annotated[
        float,
        typer.Option(
            min=0.05, max=0.95, help="Share of queries held out from ranker training; figures are on these."
        ),
    ] = 0.5,
    ablation: Annotated[bool, typer.Option(help="Also score each part switched off in turn.")] = True,
) -> None:
    """Index PRODUCTS in a throwaway store, train, and score the judged queries: NDCG@10, Recall@100, MRR.

    When there are enough judged queries, the learned ranker trains on a split of them and every figure
    is measured on the held-out queries only."""
    judged = first_queries(read_csv(qrels, "qrels", ("query", "product_id")), limit_queries)
    with tempfile.TemporaryDirectory(prefix="shelfwise-eval-") as scratch:
        console = stderr_console()
        figures, evaluation, rows = score_search(
            current_settings(),
            Path(scratch),
            products,
            judged,
            held_out,
            ablation,
            step=console.status,
            counter=counted,
            note=lambda message: console.print(message, soft_wrap=True),
        )
    console.print(figures["protocol"], soft_wrap=True)
    if rows:
        table = render_ablation(rows, title="Ablation (same held-out queries)")
        (stdout_console() if not as_json else console).print(table)
    if as_json:
        typer.echo(json.dumps(figures))
    else:
        stdout_console().print(render_search_evaluation(evaluation, title=f"Search relevance on {qrels}"))


@contextmanager
def counted(description: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr for a loop of `total` steps; yields the function that advances it."""
    with progress_bar() as progress:
        task = progress.add_task(description, total=total)
        yield lambda: progress.advance(task)


@evaluate_app.command("recs")
@engine_command
def evaluate_recs_command(
    interactions: Annotated[Path, typer.Option(help="user_id, item_id and a position or timestamp column.")],
    items: Annotated[
        Path | None, typer.Option(help="The full item catalog (item_id, title, …): all are ranked.")
    ] = None,
    as_json: JsonFlag = False,
    sequential: Annotated[
        bool,
        typer.Option(
            "--sequential/--no-sequential",
            help="Train the sequential transformer as the engine does (minutes on real data) and report "
            "the engine's default, its blend with co-occurrence; --no-sequential reports co-occurrence "
            "under its own name and no default row.",
        ),
    ] = True,
    sequential_seconds: Annotated[
        float | None,
        typer.Option(min=1, help="The transformer's training budget in CPU seconds (default: the engine's)."),
    ] = None,
    text: Annotated[
        bool,
        typer.Option(
            "--text/--no-text", help="Give the transformer the items' title embeddings, as the engine does."
        ),
    ] = True,
) -> None:
    """Leave-one-out with full ranking: HR@10 and NDCG@10 of the default recommender next to its parts and
    the baselines, overall and on long-tail targets and short histories."""
    frame = read_csv(interactions, "interactions", ("user_id", "item_id"))
    catalog = read_csv(items, "items", ("item_id",)) if items is not None else None
    config = RecommendationConfig()
    if sequential_seconds is not None:
        config = config.model_copy(
            update={"sequential": config.sequential.model_copy(update={"max_seconds": sequential_seconds})}
        )
    embeddings = title_embeddings(catalog) if sequential and text and catalog is not None else None
    # The transformer's epochs are the only progress shown: a spinner would fight them for the terminal.
    with EpochBar() as epochs:
        evaluation = evaluate_recs(
            frame,
            catalog,
            config=config,
            item_text_embeddings=embeddings,
            sequential=None if sequential else False,
            progress=epochs,
        )
    if as_json:
        figures = {
            **evaluation.dataset.model_dump(),
            "protocol": evaluation.protocol,
            "models": [row.model_dump() for row in evaluation.rows],
        }
        typer.echo(json.dumps(figures))
    else:
        stdout_console().print(render_recs_evaluation(evaluation))
        stdout_console().print(render_recs_segments(evaluation))


def title_embeddings(catalog: pl.DataFrame) -> np.ndarray | None:
    """The items' titles encoded as the engine encodes product texts, through its embedding cache."""
    texts = item_texts(catalog)
    if texts is None:
        return None
    cache = current_settings().embedding_cache_dir
    with stderr_console().status(f"Encoding {len(texts):,} item titles (cached under {cache})…"):
        return TextEncoder(cache_dir=cache).encode(texts)


@evaluate_app.command("personal")
@engine_command
def evaluate_personal_command(
    as_json: JsonFlag = False,
    products: Annotated[int, typer.Option(min=40, help="Products in the generated demo shop.")] = 5000,
    users: Annotated[int, typer.Option(min=10, help="Simulated users in the demo shop.")] = 1500,
    seed: Annotated[int, typer.Option(help="The demo generator's seed.")] = 7,
    held_out_days: Annotated[
        float, typer.Option(min=1, help="Searches in the log's last days are held back.")
    ] = 14.0,
) -> None:
    """Search with and without user_id on the demo shop's held-back search sessions (trains: minutes).

    The weights of personalisation are chosen on a third of the users and reported on the others."""
    console = stderr_console()
    config = PersonalEvalConfig(held_out_days=held_out_days)
    shop = generate_demo_shop(seed=seed, n_products=products, n_users=users)
    with tempfile.TemporaryDirectory(prefix="shelfwise-personal-") as scratch:
        evaluation = run_demo_evaluation(
            Path(scratch), config, settings=current_settings(), shop=shop, status=console.print
        )
    console.print(evaluation.protocol, soft_wrap=True)
    for note in evaluation.notes:
        console.print(note, soft_wrap=True)
    output = console if as_json else stdout_console()
    for table in render_personal_evaluation(evaluation):
        output.print(table)
    if as_json:
        typer.echo(evaluation.model_dump_json())


@evaluate_app.command("images")
@engine_command
def evaluate_images_command(
    data: Annotated[
        Path,
        typer.Option(help="A folder with styles.csv and images/ID.jpg (the Fashion Product Images layout)."),
    ],
    as_json: JsonFlag = False,
    limit: Annotated[int | None, typer.Option(min=10, help="Evaluate the first N products only.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the near-copies and category swaps.")] = 0,
    copies: Annotated[int, typer.Option(min=1, help="Pictures given a near-copy.")] = 100,
    swaps: Annotated[int, typer.Option(min=1, help="Products given another subcategory's category.")] = 50,
    threads: Annotated[
        int | None,
        typer.Option(
            min=1, help="Image encoder threads (default: training.images.threads, else the threads settings)."
        ),
    ] = None,
) -> None:
    """Category accuracy (leave-one-out 1-NN) of text, image and both; duplicate pictures and swapped
    categories found by the quality gate; the image encoder's throughput. Needs the images extra."""
    reason = missing_extra()
    if reason is not None:
        raise CliError(reason)
    settings = current_settings()
    image_config = settings.training.images
    if threads is not None:
        image_config = image_config.model_copy(update={"threads": threads})
    console = stderr_console()
    evaluation = evaluate_images(
        data,
        ImageEvalConfig(limit=limit, seed=seed, duplicates=copies, swaps=swaps),
        image_config=image_config,
        quality=settings.quality,
        cache_dir=settings.embedding_cache_dir,
        status=lambda message: console.print(message, soft_wrap=True),
    )
    if as_json:
        typer.echo(evaluation.model_dump_json())
    else:
        stdout_console().print(render_image_evaluation(evaluation))


@evaluate_app.command("segments")
@engine_command
def evaluate_segments_command(
    transactions: Annotated[
        Path, typer.Option(help="CSV of customer_id, date (YYYYMMDD), number_of_cds, dollar_value.")
    ],
    as_json: JsonFlag = False,
    calibration_weeks: Annotated[int, typer.Option(min=1, help="Weeks fitted on, from the first date.")] = 39,
    holdout_weeks: Annotated[int, typer.Option(min=1, help="Weeks predicted, after calibration.")] = 39,
) -> None:
    """Each customer's hold-out purchases predicted from the calibration weeks: BG/NBD (the engine's
    default) next to RFM segments, RFM quintile cells and each customer's own rate; MAE and Spearman."""
    if not transactions.is_file():
        raise CliError(f"transactions file {transactions} does not exist")
    try:
        evaluation = evaluate_segments(read_transactions(transactions), calibration_weeks, holdout_weeks)
    except ValueError as error:
        raise CliError(str(error)) from error
    console = stderr_console()
    console.print(evaluation.protocol, soft_wrap=True)
    (console if as_json else stdout_console()).print(render_segment_evaluation(evaluation))
    if as_json:
        typer.echo(evaluation.model_dump_json())


@evaluate_app.command("ope")
@engine_command
def evaluate_ope_command(
    data: Annotated[Path, typer.Option(help="Open Bandit Dataset folder: random/, bts/, prior_bts.yaml.")],
    campaign: Annotated[str, typer.Option(help="Campaign folder under random/ and bts/ (all, men, women).")],
    as_json: JsonFlag = False,
    n_sim: Annotated[int, typer.Option(min=1, help="Simulated rounds for the Thompson policy.")] = 100_000,
    n_bootstrap: Annotated[int, typer.Option(min=1, help="Bootstrap resamples of the logs.")] = 1000,
    runs: Annotated[
        int,
        typer.Option(
            min=0, help="Also refit the click model on N bootstrap runs, as obp's published figures do (30)."
        ),
    ] = 0,
    folds: Annotated[int, typer.Option(min=2, help="Cross-fitting folds of the click model.")] = 3,
    seed: Annotated[int, typer.Option(help="Seeds the simulation, the folds and the bootstrap.")] = 12345,
) -> None:
    """Off-policy evaluation: estimate the Thompson sampling policy's click rate from the uniform-random
    policy's logs (IPW, SNIPW, DM, DR, SNDR; bootstrap mean and 95% interval) against its on-policy rate."""
    with stderr_console().status("Simulating the Thompson policy and fitting the click model…"):
        check = check_open_bandit(
            data, campaign, n_sim=n_sim, n_bootstrap=n_bootstrap, runs=runs, folds=folds, seed=seed
        )
    if as_json:
        typer.echo(check.model_dump_json())
        return
    title = f"Thompson sampling's click rate from random logs ({campaign}): truth {check.truth:.5f}"
    table = Table(title=title, caption=check.published_source)
    columns = ("estimator", "estimate", "95% interval", "rel. error", "ESS", "over runs (published)")
    for column in columns:
        table.add_column(column, justify="left" if column == "estimator" else "right")
    for name, row in check.estimators.items():
        published = row.published_relative_error_mean
        table.add_row(
            name,
            f"{row.estimate:.5f}",
            f"{row.ci_low:.5f}–{row.ci_high:.5f}",
            f"{row.relative_error:.3f}",
            f"{row.effective_sample_size:,.0f}",
            runs_and_published(row.runs_relative_error_mean, published),
        )
    stdout_console().print(table)


def runs_and_published(runs: float | None, published: float | None) -> str:
    return " ".join(
        [f"{runs:.3f}" if runs is not None else "–"]
        + ([f"({published:.3f})"] if published is not None else [])
    )


# Answer ranking lives in its own module; registered here beside the others.
evaluate_app.command("answers")(engine_command(evaluate_answers_command))
evaluate_app.command("replies")(engine_command(evaluate_replies_command))
