"""Fitting the search pipeline from the store, and training its learned ranker.

The ranker learns from graded judgements (query, product, gain) when a shop has them, or else from what
shoppers did after each search: the click, add-to-cart and purchase events that followed a search event in
the same session or user within `ATTRIBUTION_WINDOW`, labelled by how strong they are and weighted against
the position each product had (LightGBM's unbiased lambdarank).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl

from shelfwise.domain import Product
from shelfwise.domain.events import EventType
from shelfwise.io.frames import actor_column
from shelfwise.search.config import SearchConfig
from shelfwise.search.memory import RememberedQuery, SearchMemory
from shelfwise.search.pipeline import SearchPipeline
from shelfwise.search.popularity import popularity_of
from shelfwise.search.ranker import LearnedRanker, RankingGroup

logger = logging.getLogger(__name__)

ATTRIBUTION_WINDOW = timedelta(minutes=30)
EVENT_LABELS = {EventType.CLICK.value: 1, EventType.ADD_TO_CART.value: 2, EventType.PURCHASE.value: 3}
GAIN_STEPS = 2  # judged gains 0..2 in steps of 1/3 become integer labels 0..4 for lambdarank


def fit_search(
    products: Sequence[Product],
    events: pl.DataFrame,
    config: SearchConfig,
    embedding_cache: Path | None = None,
) -> SearchPipeline:
    """Indexes, spelling, autocomplete; and a ranker from search events when there are enough."""
    queries = (
        events.filter(pl.col("event_type") == EventType.SEARCH.value)
        .get_column("query")
        .drop_nulls()
        .to_list()
        if not events.is_empty()
        else []
    )
    pipeline = SearchPipeline(config).fit(
        products, popularity=popularity_of(products, events), embedding_cache=embedding_cache, queries=queries
    )
    if config.ranker.enabled and not events.is_empty():
        outcomes = search_outcomes(events)
        remember_searches(pipeline, outcomes[0])
        groups = event_groups(pipeline, events, outcomes)
        if len(groups) >= config.ranker.min_queries:
            train, validation = split_groups(groups)
            try:
                pipeline.attach_ranker(LearnedRanker(config.ranker).fit(train, validation, source="events"))
            except ValueError as error:
                logger.info("no learned ranker: %s", error)
    return pipeline


def split_groups(
    groups: Sequence[RankingGroup], share: float = 0.2, seed: int = 0
) -> tuple[list[RankingGroup], ...]:
    """(training, validation): a fixed random `share` of the queries for early stopping. Not the last
    ones: labelled queries come in their source's order, which can sort them by difficulty (the last
    20% of Home Depot's training queries had 93% of their relevant products in the pool, the first
    60% 87.5%), and early stopping should watch queries like those it will serve."""
    order = np.random.default_rng(seed).permutation(len(groups))
    cut = max(1, int(len(groups) * (1 - share)))
    return [groups[i] for i in order[:cut]], [groups[i] for i in order[cut:]]


def query_groups(pipeline: SearchPipeline, labelled: Mapping[str, Mapping[str, int]]) -> list[RankingGroup]:
    """One group per query: its candidates' features (as the pipeline ranks them) and labels."""
    groups: list[RankingGroup] = []
    mask = np.ones(len(pipeline.catalog), dtype=bool)
    pipeline.prime_query_vectors(list(labelled))
    ids = pipeline.catalog.product_ids
    for query, labels in labelled.items():
        positions, features = pipeline.training_pool(query, mask)
        head = min(len(positions), pipeline.config.ranker.rerank_depth)
        if head < 2:
            continue
        label = np.array([labels.get(ids[int(p)], 0) for p in positions[:head]], dtype=np.int32)
        groups.append(
            RankingGroup(
                features=features[:head],
                labels=label,
                positions=np.arange(head, dtype=np.int32),
            )
        )
    return groups


def remember_searches(
    pipeline: SearchPipeline, labelled: Mapping[str, Mapping[str, float]]
) -> SearchMemory | None:
    """Attach the search memory of these labelled queries (None when `search_memory` is off or none led
    anywhere): each query as the pipeline understands it (spelling corrected), with what it led to."""
    memory = None
    if pipeline.config.search_memory and labelled:
        position = pipeline.catalog.position()
        pipeline.prime_query_vectors(list(labelled))
        remembered = []
        for query, labels in labelled.items():
            led_to = {
                position[pid]: float(label) for pid, label in labels.items() if label > 0 and pid in position
            }
            if led_to:
                context, _, _ = pipeline.understand(query)
                remembered.append(RememberedQuery(query, context.terms, context.vector, led_to))
        memory = SearchMemory().fit(remembered, len(pipeline.catalog)) if remembered else None
    pipeline.attach_memory(memory)
    return memory


def judgement_labels(judged: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, int]]:
    return {
        query: {pid: round(gain * GAIN_STEPS) for pid, gain in gains.items()}
        for query, gains in judged.items()
    }


def train_ranker_from_judgements(
    pipeline: SearchPipeline, judged: Mapping[str, Mapping[str, float]], validation_share: float = 0.2
) -> LearnedRanker:
    """Fit the search memory and the ranker on judged queries (the caller keeps evaluation queries out)
    and attach both."""
    labelled = judgement_labels(judged)
    remember_searches(pipeline, labelled)
    groups = query_groups(pipeline, labelled)
    train, validation = split_groups(groups, validation_share)
    ranker = LearnedRanker(pipeline.config.ranker).fit(train, validation, source="judgements")
    pipeline.attach_ranker(ranker)
    return ranker


def event_groups(
    pipeline: SearchPipeline,
    events: pl.DataFrame,
    outcomes: tuple[dict[str, dict[str, int]], dict[str, int]] | None = None,
) -> list[RankingGroup]:
    """Searches followed by a click, add-to-cart or purchase of the same actor within the window
    (`outcomes`: what `search_outcomes(events)` gives, when the caller has it already)."""
    labelled, counts = outcomes if outcomes is not None else search_outcomes(events)
    # Each query costs an encoding and a retrieval: the most acted-on queries teach the most.
    kept = sorted(counts, key=lambda q: (-counts[q], q))[: pipeline.config.ranker.max_training_queries]
    return query_groups(pipeline, {query: labelled[query] for query in sorted(kept)})


def search_outcomes(events: pl.DataFrame) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
    """(query -> {product_id: strongest label}, query -> attributed actions): what each search led to,
    attributed to the same actor's latest search within `ATTRIBUTION_WINDOW`."""
    labelled: dict[str, dict[str, int]] = {}
    counts: dict[str, int] = {}
    frame = events.with_columns(actor_column().fill_null("")).sort(["actor", "timestamp"])
    current: tuple[str, str, object] | None = None
    for actor, kind, product_id, query, timestamp in frame.select(
        "actor", "event_type", "product_id", "query", "timestamp"
    ).iter_rows():
        if kind == EventType.SEARCH.value and query:
            current = (actor, str(query), timestamp)
            continue
        if current is None or current[0] != actor or kind not in EVENT_LABELS or product_id is None:
            continue
        if timestamp - current[2] > ATTRIBUTION_WINDOW:
            current = None
            continue
        labels = labelled.setdefault(current[1], {})
        labels[product_id] = max(labels.get(product_id, 0), EVENT_LABELS[kind])
        counts[current[1]] = counts.get(current[1], 0) + 1
    return labelled, counts
