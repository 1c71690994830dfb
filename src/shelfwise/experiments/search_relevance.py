"""The engine's production search scored on a shop's judged queries, end to end: index the catalog in a
throwaway engine, train it, train the learned ranker on a split of the judgements when the store has no
search events to learn from, and score the held-out queries (graded NDCG over the whole catalog), with an
ablation of each part. `shelfwise evaluate search` and the benchmarks run this."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import polars as pl

from shelfwise.domain import Filters, SearchResult
from shelfwise.engine import Engine
from shelfwise.evaluation.search_ablation import (
    ABLATIONS,
    AblationRow,
    positive_queries,
    run_ablation,
    split_qrels,
)
from shelfwise.evaluation.search_eval import SearchEvaluation, evaluate_search, judgements
from shelfwise.experiments.scratch import scratch_settings
from shelfwise.search.learning import train_ranker_from_judgements
from shelfwise.search.ranker import RankerConfig
from shelfwise.settings import Settings

Step = Callable[[str], AbstractContextManager[Any]]
"""Wraps a step that takes a while, given what it does (a spinner in the CLI)."""
Counter = Callable[[str, int], AbstractContextManager[Callable[[], None]]]
"""Counts a loop of a known length: given its description and total, yields the function that advances it."""


class EngineSearcher:
    """The engine's production search in the shape `evaluate_search` expects, counting each query."""

    def __init__(self, engine: Engine, advance: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.advance = advance

    def search(
        self, query: str, filters: Filters | None = None, page: int = 1, page_size: int = 10
    ) -> SearchResult:
        """One production search, as `Engine.search` serves it."""
        result = self.engine.search(query, filters=filters, page=page, page_size=page_size)
        if self.advance is not None:
            self.advance()
        return result


def score_search(
    settings: Settings,
    scratch: Path,
    products: Path,
    judged: pl.DataFrame,
    held_out_share: float = 0.5,
    ablation: bool = True,
    *,
    step: Step | None = None,
    counter: Counter | None = None,
    note: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], SearchEvaluation, list[AblationRow]]:
    """Ingest and train in a throwaway engine under `scratch`; when the store has no events to train the
    ranker, train it on a query split of the judgements; score the held-out queries. Returns the figures
    (JSON-safe), the evaluation and the ablation rows."""
    step = step or (lambda _: nullcontext())
    counter = counter or (lambda _, __: nullcontext(lambda: None))
    judgements(judged)  # names a missing column or a null before anything is indexed
    train_part, test_part = split_qrels(judged, held_out_share)
    min_queries = RankerConfig().min_queries
    splitting = positive_queries(train_part) >= 2 * min_queries and positive_queries(test_part) > 0
    if not splitting:
        train_part, test_part = judged.head(0), judged
    searched = positive_queries(test_part)
    with Engine(scratch_settings(settings, scratch)) as engine:
        started = time.perf_counter()
        with step(f"Ingesting {products}…"):
            report = engine.ingest_products(products)
        ingest_seconds = time.perf_counter() - started
        if report.quarantined and note is not None:
            note(f"{report.quarantined:,} of {report.total:,} product rows quarantined")
        started = time.perf_counter()
        with step(f"Training on {report.accepted:,} products…"):
            engine.train()
        train_seconds = time.perf_counter() - started
        pipeline = engine.search_pipeline()
        ranker_seconds = 0.0
        if splitting and pipeline.ranker is None and pipeline.config.ranker.enabled:
            started = time.perf_counter()
            with step(f"Training the ranker on {positive_queries(train_part):,} judged queries…"):
                train_ranker_from_judgements(pipeline, judgements(train_part))
            ranker_seconds = time.perf_counter() - started
        with counter("Searching held-out queries", searched) as advance:
            evaluation = evaluate_search(EngineSearcher(engine, advance), test_part)
        rows: list[AblationRow] = []
        if ablation:
            with counter("Ablation", searched * len(ABLATIONS)) as advance:
                rows = run_ablation(
                    pipeline,
                    test_part,
                    evaluation,
                    advance,
                    trained_on=judgements(train_part) if splitting else None,
                )
    protocol = (
        f"Figures on {searched:,} held-out queries ({held_out_share:.0%} of the judged queries, split by a "
        f"hash of the query); the learned ranker trained on the other {positive_queries(train_part):,} only."
        if splitting
        else "Every judged query is scored; too few to hold some out for training a ranker, so none is used."
    )
    figures = {
        **evaluation.model_dump(exclude={"per_query"}),
        "products": report.accepted,
        "products_quarantined": report.quarantined,
        "ingest_seconds": round(ingest_seconds, 3),
        "train_seconds": round(train_seconds, 3),
        "ranker_train_seconds": round(ranker_seconds, 3),
        "train_queries": positive_queries(train_part) if splitting else 0,
        "protocol": protocol,
        "components": pipeline.components,
        "ablation": [row.model_dump() for row in rows],
    }
    return figures, evaluation, rows
