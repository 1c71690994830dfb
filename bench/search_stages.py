"""Where a query's time goes, by wall clock, on a pipeline that `bench/search_latency.py --work DIR` kept.

    .venv/bin/python bench/search_stages.py DIR/pipeline [--queries 400] [--warmup 50] [--explanation shap]

Wraps each stage of a search in a perf_counter timer (unlike cProfile in `bench/search_variants.py`, this
adds a few microseconds a call, not a share of every numpy call) and runs the first held-out Home Depot
queries at page size 10 with the query-vector cache off, as `bench/search_latency.py` serves them. Prints
one JSON line: milliseconds per query for the whole search and for each stage, and the ranker's tree count.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import shelfwise.search.features as features
from harness import shared_data
from shelfwise.evaluation.search_ablation import split_qrels
from shelfwise.evaluation.search_eval import judgements
from shelfwise.io.datasets import load_homedepot
from shelfwise.search import SearchPipeline
from shelfwise.search.memory import SearchMemory

SECONDS: dict[str, float] = {}


def timed(stage: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SECONDS[stage] = SECONDS.get(stage, 0.0) + time.perf_counter() - started

    return wrapper


def instrument(pipeline: SearchPipeline) -> None:
    features._features = timed("ranking features", features._features)
    features.pool_centroids = timed("pool centroids", features.pool_centroids)
    SearchMemory.features = timed("memory features", SearchMemory.features)  # type: ignore[method-assign]
    SearchMemory.recall = timed("memory recall", SearchMemory.recall)  # type: ignore[method-assign]
    SearchMemory.similarities = timed("memory similarities", SearchMemory.similarities)  # type: ignore[method-assign]
    pipeline.query_vector = timed("query encoding", pipeline.query_vector)  # type: ignore[method-assign]
    pipeline.lexical.scored = timed("BM25 scoring", pipeline.lexical.scored)  # type: ignore[method-assign]
    if pipeline.vectors is not None:
        pipeline.vectors.search = timed("vector search", pipeline.vectors.search)  # type: ignore[method-assign]
    if pipeline.ranker is not None:
        ranker = pipeline.ranker
        ranker.predict = timed("ranker scores", ranker.predict)  # type: ignore[method-assign]
        ranker.contributions = timed("per-feature contributions", ranker.contributions)  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pipeline", type=Path)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--explanation", choices=["path", "shap"], help="override the ranker's")
    args = parser.parse_args()
    pipeline = SearchPipeline.load(args.pipeline)
    if args.explanation and pipeline.ranker is not None:
        pipeline.ranker.config = pipeline.ranker.config.model_copy(update={"explanation": args.explanation})
    pipeline.config = pipeline.config.model_copy(update={"query_vector_cache": 0})
    _, held_out = split_qrels(load_homedepot(shared_data())[1], 0.5)
    queries = list(judgements(held_out))[: args.queries]
    instrument(pipeline)
    for query in queries[: args.warmup]:
        pipeline.search(query)
    SECONDS.clear()
    started = time.perf_counter()
    for query in queries:
        pipeline.search(query, page_size=10)
    per_query = {stage: round(1000 * s / len(queries), 2) for stage, s in SECONDS.items()}
    figures = {
        "queries": len(queries),
        "whole_search_ms": round(1000 * (time.perf_counter() - started) / len(queries), 2),
        "stages_ms": per_query,
        "ranker_trees": pipeline.ranker.meta.get("best_iteration") if pipeline.ranker is not None else None,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
