"""Honest evaluation of the hybrid search: a query split for the learned ranker, and an ablation.

Judged queries are split by a hash of their text: the ranker trains on one part (with its own validation
slice for early stopping) and every figure is measured on the held-out part only, for the default
configuration and for each ablation row, so the rows compare like with like.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

import polars as pl
from pydantic import BaseModel

from shelfwise.domain import Filters, SearchResult
from shelfwise.evaluation.search_eval import SearchEvaluation, evaluate_search, judgements
from shelfwise.search.learning import train_ranker_from_judgements
from shelfwise.search.pipeline import SearchPipeline

ABLATIONS: tuple[tuple[str, dict[str, bool]], ...] = (
    ("BM25 (fielded)", {"semantic": False, "spelling": False, "ranker": False}),
    ("dense only (MiniLM)", {"lexical": False, "spelling": False, "ranker": False}),
    ("BM25 + dense, RRF", {"spelling": False, "ranker": False}),
    ("+ spelling correction", {"ranker": False}),
    ("+ learned ranker (LightGBM)", {"memory": False}),
    ("+ search memory (the default)", {}),
)


class AblationRow(BaseModel):
    name: str
    ndcg_at_10: float
    recall_at_100: float
    mrr_at_10: float
    latency_p50_ms: float
    latency_p99_ms: float


def is_held_out(query: str, share: float) -> bool:
    """Stable across runs and machines: a hash of the text, not a random draw."""
    digest = hashlib.blake2b(query.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < share


def split_qrels(qrels: pl.DataFrame, share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(training judgements, held-out judgements), split by query."""
    held = (
        qrels.get_column("query")
        .cast(pl.Utf8)
        .map_elements(lambda q: is_held_out(q, share), return_dtype=pl.Boolean)
    )
    return qrels.filter(~held), qrels.filter(held)


class PipelineSearcher:
    def __init__(self, pipeline: SearchPipeline, advance: Callable[[], None] | None = None) -> None:
        self.pipeline = pipeline
        self.advance = advance

    def search(
        self, query: str, filters: Filters | None = None, page: int = 1, page_size: int = 10
    ) -> SearchResult:
        result = self.pipeline.search(query, filters=filters, page=page, page_size=page_size)
        if self.advance is not None:
            self.advance()
        return result


def run_ablation(
    pipeline: SearchPipeline,
    held_out: pl.DataFrame,
    default: SearchEvaluation | None = None,
    advance: Callable[[], None] | None = None,
    trained_on: Mapping[str, Mapping[str, float]] | None = None,
) -> list[AblationRow]:
    """Each configuration over the held-out judgements; rows whose part is missing are left out. The
    ranker without the search memory is trained afresh on `trained_on` (the judgements the default's
    ranker learned from): the default's ranker expects memory features, so switching them off alone
    would not say what a ranker does without them."""
    rows: list[AblationRow] = []
    remembers = pipeline.memory is not None
    for name, switches in ABLATIONS:
        if not _applies(pipeline, switches, remembers and trained_on is not None):
            continue
        # Without a memory, the ranker alone is the default configuration.
        is_default = not switches or ("memory" in switches and not remembers)
        if is_default and default is not None:
            evaluation = default
        else:
            variant = pipeline.variant(**switches)
            if "memory" in switches and trained_on is not None:
                variant.config = variant.config.model_copy(update={"search_memory": False})
                train_ranker_from_judgements(variant, trained_on)
            if "lexical" in switches:
                # Dense alone: its own top 100, no similarity floor (that floor guards BM25's matches).
                fusion = variant.config.fusion.model_copy(
                    update={"dense_min_similarity": -1.0, "dense_relative": 0.0}
                )
                variant.config = variant.config.model_copy(update={"fusion": fusion})
            evaluation = evaluate_search(PipelineSearcher(variant, advance), held_out)
        rows.append(
            AblationRow(
                name=name,
                **evaluation.model_dump(
                    include={"ndcg_at_10", "recall_at_100", "mrr_at_10", "latency_p50_ms", "latency_p99_ms"}
                ),
            )
        )
    return rows


def _applies(pipeline: SearchPipeline, switches: Mapping[str, bool], can_retrain: bool) -> bool:
    """Whether an ablation row means anything for this pipeline (each part it removes is there)."""
    if "memory" in switches:
        return pipeline.ranker is not None and (pipeline.memory is None or can_retrain)
    if not switches:
        return pipeline.ranker is not None and pipeline.memory is not None
    if "lexical" in switches and pipeline.vectors is None:
        return False
    return not (switches == {"ranker": False} and pipeline.speller is None)


def searched_queries(judged: Mapping[str, Mapping[str, float]]) -> int:
    return sum(1 for gains in judged.values() if any(g > 0 for g in gains.values()))


def positive_queries(qrels: pl.DataFrame) -> int:
    return 0 if qrels.is_empty() else searched_queries(judgements(qrels))
