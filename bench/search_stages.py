"""Where a query's time goes, by wall clock, on a pipeline that `bench/search_latency.py --work DIR` kept.

    .venv/bin/python bench/search_stages.py DIR/pipeline [--queries 400] [--warmup 50] [--explanation shap]

Times each stage of a search through the pipeline's stage hook (`shelfwise.search.stages.StageTimer`: a
perf_counter pair per stage, unlike cProfile, which adds a share to every numpy call) and runs the first
held-out Home Depot queries at page size 10 with the query-vector cache off, as `bench/search_latency.py`
serves them. Prints one JSON line: milliseconds per query for the whole search and for each stage the
search reports (`shelfwise.search.stages.Stage`), and the ranker's tree count.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from harness import shared_data
from shelfwise.evaluation.search_ablation import split_qrels
from shelfwise.evaluation.search_eval import judgements
from shelfwise.io.datasets import load_homedepot
from shelfwise.search import SearchPipeline
from shelfwise.search.stages import StageTimer


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
    timer = StageTimer()
    for query in queries[: args.warmup]:
        pipeline.search(query, stages=timer)
    timer.reset()
    started = time.perf_counter()
    for query in queries:
        pipeline.search(query, page_size=10, stages=timer)
    per_query = {stage: round(1000 * s / len(queries), 2) for stage, s in timer.seconds.items()}
    figures = {
        "queries": len(queries),
        "whole_search_ms": round(1000 * (time.perf_counter() - started) / len(queries), 2),
        "stages_ms": per_query,
        "ranker_trees": pipeline.ranker.meta.get("best_iteration") if pipeline.ranker is not None else None,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
