"""Search relevance against graded judgements (qrels): NDCG@k, Recall@depth, MRR@k and latency."""

from __future__ import annotations

import time
from typing import Protocol

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from shelfwise.domain import Filters, SearchResult
from shelfwise.metrics import mrr_at_k, ndcg_at_k, recall_at_k

QREL_COLUMNS = ("query", "product_id", "gain")


class Searcher(Protocol):
    def search(
        self, query: str, filters: Filters | None = None, page: int = 1, page_size: int = 10
    ) -> SearchResult: ...


class QueryEvaluation(BaseModel):
    query: str
    judged: int
    ndcg: float
    recall: float
    mrr: float
    latency_ms: float


class SearchEvaluation(BaseModel):
    """Means over the queries with at least one positive gain.

    The metric names hold for the defaults k=10 and depth=100; `k` and `depth` record what was used.
    """

    queries: int = Field(description="Queries evaluated: those with at least one product of positive gain.")
    skipped_queries: int = Field(description="Queries whose judged products all have gain 0.")
    k: int
    depth: int
    ndcg_at_10: float = Field(description="Mean graded NDCG@k.")
    recall_at_100: float = Field(description="Mean Recall@depth.")
    mrr_at_10: float = Field(description="Mean MRR@k.")
    latency_p50_ms: float
    latency_p99_ms: float
    per_query: list[QueryEvaluation] | None = None


def judgements(qrels: pl.DataFrame) -> dict[str, dict[str, float]]:
    """query -> {product_id: gain}; product ids are compared as strings."""
    missing = [c for c in QREL_COLUMNS if c not in qrels.columns]
    if missing:
        raise ValueError(f"qrels lack the column(s) {missing}; expected {list(QREL_COLUMNS)}")
    if qrels.is_empty():
        raise ValueError("qrels are empty: there is nothing to evaluate")
    rows = qrels.select(
        pl.col("query").cast(pl.Utf8), pl.col("product_id").cast(pl.Utf8), pl.col("gain").cast(pl.Float64)
    )
    nulls = rows.null_count().row(0)
    if any(nulls):
        raise ValueError(f"qrels have nulls: {dict(zip(QREL_COLUMNS, nulls, strict=True))}")
    judged: dict[str, dict[str, float]] = {}
    for query, product_id, gain in rows.iter_rows():
        judged.setdefault(query, {})[product_id] = gain
    return judged


def evaluate_search(
    searcher: Searcher, qrels: pl.DataFrame, k: int = 10, depth: int = 100, keep_per_query: bool = False
) -> SearchEvaluation:
    """Runs every judged query once (page 1, page_size=depth) and scores the ranking against its qrels."""
    if not 1 <= k <= depth:
        raise ValueError(f"need 1 <= k <= depth, got k={k}, depth={depth}")
    per_query: list[QueryEvaluation] = []
    skipped = 0
    for query, gains in judgements(qrels).items():
        if not any(g > 0 for g in gains.values()):
            skipped += 1  # NDCG and recall are undefined without a relevant product
            continue
        started = time.perf_counter()
        result = searcher.search(query, page=1, page_size=depth)
        latency_ms = (time.perf_counter() - started) * 1000
        ranked = [hit.product.product_id for hit in result.hits]
        per_query.append(
            QueryEvaluation(
                query=query,
                judged=len(gains),
                ndcg=ndcg_at_k(ranked, gains, k),
                recall=recall_at_k(ranked, gains, depth),
                mrr=mrr_at_k(ranked, gains, k),
                latency_ms=latency_ms,
            )
        )
    if not per_query:
        raise ValueError("no query in the qrels has a product with a positive gain")
    latencies = np.array([q.latency_ms for q in per_query])
    return SearchEvaluation(
        queries=len(per_query),
        skipped_queries=skipped,
        k=k,
        depth=depth,
        ndcg_at_10=float(np.mean([q.ndcg for q in per_query])),
        recall_at_100=float(np.mean([q.recall for q in per_query])),
        mrr_at_10=float(np.mean([q.mrr for q in per_query])),
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p99_ms=float(np.percentile(latencies, 99)),
        per_query=per_query if keep_per_query else None,
    )
