"""What each search speed-up costs in quality, and where a query's time goes, on a pipeline that
`bench/search_latency.py --work DIR` built and kept.

    .venv/bin/python bench/search_variants.py DIR [--profile-queries 200]

Every variant runs the same held-out Home Depot queries (DIR/held_out.csv) through the saved pipeline:
the default; the vector index scanned exactly instead of the HNSW graph; queries encoded in float32
instead of the int8 copy; and dense retrieval alone (HNSW and exact). Then cProfile over the first
`--profile-queries` queries at page size 10 splits a query's time by stage. Prints a table on stderr and
one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
from pathlib import Path
from typing import Any

import polars as pl

from shelfwise.evaluation.search_ablation import PipelineSearcher
from shelfwise.evaluation.search_eval import evaluate_search, judgements
from shelfwise.index.vector import VectorIndex, VectorIndexConfig
from shelfwise.search import SearchPipeline
from shelfwise.text.encoder import TextEncoder

# Functions whose cumulative time is a stage of a query, by the name cProfile reports.
STAGES = {
    "query encoding (tokenise + ONNX)": "_encode_batch",
    "lexical scoring (BM25)": "_score",
    "vector search": "search",
    "ranking features": "_features",
    "ranker scores + per-feature contributions (LightGBM)": "predict",
    "explanations": "explain_hit",
    "whole search": "search",
}
STAGE_FILES = {
    "query encoding (tokenise + ONNX)": "onnx_backend.py",
    "lexical scoring (BM25)": "lexical.py",
    "vector search": "vector.py",
    "ranking features": "features.py",
    "ranker scores + per-feature contributions (LightGBM)": "lightgbm/basic.py",
    "explanations": "explain.py",
    "whole search": "pipeline.py",
}


def relevance(pipeline: SearchPipeline, held_out: pl.DataFrame) -> dict[str, float]:
    found = evaluate_search(PipelineSearcher(pipeline), held_out)
    return {
        "ndcg_at_10": round(found.ndcg_at_10, 4),
        "recall_at_100": round(found.recall_at_100, 4),
        "mrr_at_10": round(found.mrr_at_10, 4),
    }


def dense_only(pipeline: SearchPipeline) -> SearchPipeline:
    """Dense retrieval alone, its own top 100 without the similarity floor (as the ablation does)."""
    variant = pipeline.variant(lexical=False, spelling=False, ranker=False)
    fusion = variant.config.fusion.model_copy(update={"dense_min_similarity": -1.0, "dense_relative": 0.0})
    variant.config = variant.config.model_copy(update={"fusion": fusion})
    return variant


def exact(pipeline: SearchPipeline) -> SearchPipeline:
    variant = pipeline.variant()
    if pipeline.vectors is not None:
        config = VectorIndexConfig(method="exact")
        variant.vectors = VectorIndex(pipeline.vectors.vectors, pipeline.vectors.model, config)
    return variant


def float32_queries(pipeline: SearchPipeline) -> SearchPipeline:
    variant = pipeline.variant()
    variant.encoder = TextEncoder(pipeline.config.encoder.model_copy(update={"int8_queries": False}))
    return variant


def stage_times(pipeline: SearchPipeline, queries: list[str]) -> dict[str, float]:
    """Milliseconds per query in each stage (cumulative time of its function, under cProfile)."""
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        pipeline.search(query, page_size=10)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    times: dict[str, float] = {}
    for stage, function in STAGES.items():
        total = sum(
            cumulative
            for (filename, _, name), (_, _, _, cumulative, _) in stats.items()
            if name == function and STAGE_FILES[stage] in filename
        )
        times[stage] = round(total / len(queries) * 1000, 2)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path, help="the --work directory of bench/search_latency.py")
    parser.add_argument("--profile-queries", type=int, default=200)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    pipeline = SearchPipeline.load(args.work / "pipeline")
    pipeline.config = pipeline.config.model_copy(update={"query_vector_cache": 0})
    held_out = pl.read_csv(
        args.work / "held_out.csv", schema_overrides={"query": pl.Utf8, "product_id": pl.Utf8}
    )
    variants = {
        "default": pipeline,
        "vector index scanned exactly": exact(pipeline),
        "queries encoded in float32": float32_queries(pipeline),
        "dense only (HNSW)": dense_only(pipeline),
        "dense only (exact)": dense_only(exact(pipeline)),
    }
    figures: dict[str, Any] = {"encoder": pipeline.components["dense"], "variants": {}}
    for name, variant in variants.items():
        figures["variants"][name] = relevance(variant, held_out)
        print(f"{name}: {figures['variants'][name]}", file=sys.stderr, flush=True)
    queries = [q for q, gains in judgements(held_out).items() if any(g > 0 for g in gains.values())]
    figures["stage_ms"] = stage_times(pipeline, queries[: args.profile_queries])
    print(f"stages (ms per query, cProfile): {figures['stage_ms']}", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
