"""The recommendation kinds a shop page needs, composed from the fitted item models.

`RecommendationModels` is trained over the catalog as it was at training time: item index i is catalog
position i. Products are resolved through the live catalog at serving time, so a deleted product is never
shown and a changed price or availability is checked against the request's filters once more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import numpy as np
import polars as pl
from pydantic import BaseModel, Field

from shelfwise.domain import (
    Event,
    EventType,
    Explanation,
    Filters,
    Product,
    Reason,
    Recommendation,
    RecommendationKind,
)
from shelfwise.domain.events import EVENT_WEIGHTS
from shelfwise.index.catalog import CatalogArrays
from shelfwise.recommend.cooccurrence import CoOccurrence, CoOccurrenceConfig, CoPurchase, CoPurchaseConfig
from shelfwise.recommend.interactions import Interactions, Vocabulary
from shelfwise.recommend.popularity import TrendingPopularity, TrendingPopularityConfig, top_positions

ITEM_EVENTS = [t.value for t in EventType if t is not EventType.SEARCH]
BASKET_EVENTS = [EventType.PURCHASE.value, EventType.ADD_TO_CART.value]
VERBS = {
    EventType.VIEW: "viewed",
    EventType.CLICK: "viewed",
    EventType.ADD_TO_CART: "added to your cart",
    EventType.PURCHASE: "bought",
}

Resolver = Callable[[str], Product | None]
TextNeighbours = Callable[[str, int], list[tuple[str, float]]]


class RecommendationConfig(BaseModel):
    cooccurrence: CoOccurrenceConfig = Field(default_factory=CoOccurrenceConfig)
    copurchase: CoPurchaseConfig = Field(default_factory=CoPurchaseConfig)
    trending: TrendingPopularityConfig = Field(default_factory=TrendingPopularityConfig)
    recent_history: int = Field(default=50, ge=1, description="Latest item events a for-you request reads.")


@dataclass
class RecommendRequest:
    kind: RecommendationKind
    history: list[Event] = field(default_factory=list)  # oldest first
    product_id: str | None = None
    n: int = 10
    filters: Filters | None = None


@dataclass
class _Candidate:
    product_id: str
    score: float
    reasons: list[Reason]


def interactions_of(events: pl.DataFrame, items: Vocabulary, event_types: Sequence[str]) -> Interactions:
    """Events of the given types as weighted interactions; anonymous sessions count as their own actor."""
    weights = {t.value: w for t, w in EVENT_WEIGHTS.items()}
    frame = events.filter(pl.col("event_type").is_in(list(event_types)) & pl.col("product_id").is_not_null())
    frame = frame.with_columns(
        pl.coalesce(pl.lit("user:") + pl.col("user_id"), pl.lit("session:") + pl.col("session_id")).alias(
            "actor"
        ),
        pl.col("event_type").replace_strict(weights, return_dtype=pl.Float32).alias("weight"),
    )
    return Interactions.from_frame(
        frame,
        user="actor",
        item="product_id",
        time="timestamp",
        weight="weight",
        session="session_id",
        items=items,
    )


class RecommendationModels:
    """Co-occurrence (for-you, similar), co-purchase (bought-together) and trending, over one catalog."""

    def __init__(self, config: RecommendationConfig | None = None) -> None:
        self.config = config or RecommendationConfig()
        self.catalog = CatalogArrays.of([])
        self.items = Vocabulary.of([])
        self.cooccurrence = CoOccurrence(self.config.cooccurrence)
        self.copurchase = CoPurchase(self.config.copurchase)
        self.trending = TrendingPopularity(self.config.trending)

    def fit(self, products: Sequence[Product], events: pl.DataFrame) -> Self:
        self.catalog = CatalogArrays.of(products)
        self.items = Vocabulary.of(self.catalog.product_ids)
        item_events = interactions_of(events, self.items, ITEM_EVENTS)
        self.cooccurrence.fit(item_events)
        self.trending.fit(item_events)
        self.copurchase.fit(interactions_of(events, self.items, BASKET_EVENTS))
        return self

    # persistence ----------------------------------------------------------------------------------

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(self.config.model_dump_json(indent=2))
        with (directory / "catalog.jsonl").open("w") as out:
            for product in self.catalog.products:
                out.write(product.model_dump_json() + "\n")
        self.cooccurrence.save(directory / "cooccurrence")
        self.copurchase.save(directory / "copurchase")
        self.trending.save(directory / "trending")

    @classmethod
    def load(cls, directory: Path) -> RecommendationModels:
        models = cls(RecommendationConfig.model_validate(json.loads((directory / "config.json").read_text())))
        with (directory / "catalog.jsonl").open() as lines:
            products = [Product.model_validate_json(line) for line in lines if line.strip()]
        models.catalog = CatalogArrays.of(products)
        models.items = Vocabulary.of(models.catalog.product_ids)
        models.cooccurrence = CoOccurrence.load(directory / "cooccurrence")
        models.copurchase = CoPurchase.load(directory / "copurchase")
        models.trending = TrendingPopularity.load(directory / "trending")
        return models

    # serving --------------------------------------------------------------------------------------

    def recommend(
        self,
        request: RecommendRequest,
        resolve: Resolver,
        text_neighbours: TextNeighbours | None = None,
    ) -> list[Recommendation]:
        filters = request.filters or Filters()
        handlers = {
            RecommendationKind.FOR_YOU: self._for_you,
            RecommendationKind.SIMILAR: self._similar,
            RecommendationKind.BOUGHT_TOGETHER: self._bought_together,
            RecommendationKind.TRENDING: self._trending,
            RecommendationKind.RECENTLY_VIEWED: self._recently_viewed,
        }
        # Ask for more than n: some candidates drop out when resolved against the live catalog.
        wanted = request.n * 2 + 10
        candidates = handlers[request.kind](request, self.catalog.mask(filters), wanted, text_neighbours)
        return self._resolve(candidates, request.n, filters, resolve)

    def _resolve(
        self, candidates: list[_Candidate], n: int, filters: Filters, resolve: Resolver
    ) -> list[Recommendation]:
        results: list[Recommendation] = []
        seen: set[str] = set()
        for candidate in candidates:
            if candidate.product_id in seen:
                continue
            seen.add(candidate.product_id)
            product = resolve(candidate.product_id)
            if product is None or not filters.matches(product):
                continue
            results.append(
                Recommendation(
                    product=product, score=candidate.score, explanation=Explanation(reasons=candidate.reasons)
                )
            )
            if len(results) == n:
                break
        return results

    def _title(self, index: int) -> str:
        return self.catalog.products[index].title

    def _exclusions(self, history: list[Event]) -> np.ndarray:
        """Items the user bought: never recommended back by kinds that do not ask for them."""
        excluded = np.zeros(len(self.items), dtype=bool)
        for event in history:
            if event.event_type is EventType.PURCHASE and event.product_id is not None:
                index = self.items.get(event.product_id)
                if index is not None:
                    excluded[index] = True
        return excluded

    def _for_you(
        self, request: RecommendRequest, mask: np.ndarray, wanted: int, _: TextNeighbours | None
    ) -> list[_Candidate]:
        item_events = [e for e in request.history if e.product_id and e.event_type is not EventType.SEARCH]
        item_events = item_events[-self.config.recent_history :]
        known = [(e, self.items.get(e.product_id or "")) for e in item_events]
        history = [(e, i) for e, i in known if i is not None]
        if not history:
            return self._trending(request, mask, wanted, None, reason="Popular right now: no history yet")
        indices = np.array([i for _, i in history], dtype=np.int64)
        scores = self.cooccurrence.score(indices)
        # Items just seen belong to recently-viewed; bought ones are not sold twice.
        allowed = mask & ~self._exclusions(request.history)
        allowed[indices] = False
        top = top_positions(scores, wanted, allowed)
        return self._explain_for_you(top, scores, history)

    def _explain_for_you(
        self, top: np.ndarray, scores: np.ndarray, history: list[tuple[Event, int]]
    ) -> list[_Candidate]:
        """Each item's reason is the history item that contributed most to its score."""
        if not len(top):
            return []
        recent = history[-self.cooccurrence.config.max_history :]
        indices = np.array([index for _, index in recent], dtype=np.int64)
        decay = self.cooccurrence.config.history_decay ** np.arange(len(recent) - 1, -1, -1, dtype=np.float64)
        # One sparse slice (history x candidates) instead of a look-up per pair.
        contributions = self.cooccurrence.table.matrix[indices][:, top].toarray() * decay[:, None]
        best_rows = contributions.argmax(axis=0)
        candidates = []
        for column, item in enumerate(top):
            row = int(best_rows[column])
            contribution = float(contributions[row, column])
            if contribution > 0:
                event, index = recent[row]
                reason = Reason(
                    signal="co-occurrence",
                    detail=f"Because you {VERBS.get(event.event_type, 'viewed')} “{self._title(index)}”",
                    contribution=contribution,
                )
            else:
                reason = Reason(
                    signal="popularity", detail="Popular with shoppers", contribution=float(scores[item])
                )
            candidates.append(_Candidate(self.items.ids[int(item)], float(scores[item]), [reason]))
        return candidates

    def _similar(
        self, request: RecommendRequest, mask: np.ndarray, wanted: int, text: TextNeighbours | None
    ) -> list[_Candidate]:
        product_id = request.product_id or ""
        candidates: list[_Candidate] = []
        index = self.items.get(product_id)
        if index is not None:
            neighbours, scores = self.cooccurrence.neighbours(index, wanted)
            for item, score in zip(neighbours, scores, strict=True):
                if mask[item] and item != index:
                    detail = f"Shoppers who viewed “{self._title(index)}” also viewed this"
                    reason = Reason(signal="co-view", detail=detail, contribution=float(score))
                    candidates.append(_Candidate(self.items.ids[item], float(score), [reason]))
        if len(candidates) < wanted and text is not None:
            candidates += self._text_candidates(product_id, wanted, text)
        return candidates

    def _text_candidates(self, product_id: str, wanted: int, text: TextNeighbours) -> list[_Candidate]:
        return [
            _Candidate(
                other,
                score,
                [
                    Reason(
                        signal="text-similarity", detail="Similar title and description", contribution=score
                    )
                ],
            )
            for other, score in text(product_id, wanted)
            if other != product_id
        ]

    def _bought_together(
        self, request: RecommendRequest, mask: np.ndarray, wanted: int, text: TextNeighbours | None
    ) -> list[_Candidate]:
        product_id = request.product_id or ""
        index = self.items.get(product_id)
        if index is None:
            return self._text_candidates(product_id, wanted, text) if text else []
        allowed = mask & ~self._exclusions(request.history)
        allowed[index] = False
        title = self._title(index)
        candidates = []
        neighbours, scores = self.copurchase.neighbours(index, wanted)
        for item, score in zip(neighbours, scores, strict=True):
            if allowed[item]:
                reason = Reason(
                    signal="co-purchase", detail=f"Often bought with “{title}”", contribution=float(score)
                )
                candidates.append(_Candidate(self.items.ids[item], float(score), [reason]))
        # Cross-category co-views fill the page when purchases are too few: complements, not substitutes.
        own_category = self.catalog.categories.codes[index]
        neighbours, scores = self.cooccurrence.neighbours(index, wanted * 2)
        for item, score in zip(neighbours, scores, strict=True):
            if allowed[item] and self.catalog.categories.codes[item] != own_category:
                reason = Reason(
                    signal="co-view", detail=f"Often viewed with “{title}”", contribution=float(score)
                )
                candidates.append(_Candidate(self.items.ids[item], float(score) * 0.5, [reason]))
        return candidates

    def _trending(
        self,
        request: RecommendRequest,
        mask: np.ndarray,
        wanted: int,
        _: TextNeighbours | None,
        reason: str | None = None,
    ) -> list[_Candidate]:
        allowed = mask & ~self._exclusions(request.history)
        scores = self.trending.item_scores
        detail = reason or f"Trending: popular over the last {self.config.trending.half_life_days:g} days"
        return [
            _Candidate(
                self.items.ids[item],
                float(scores[item]),
                [Reason(signal="trending", detail=detail, contribution=float(scores[item]))],
            )
            for item in top_positions(scores, wanted, allowed)
        ]

    def _recently_viewed(
        self, request: RecommendRequest, mask: np.ndarray, wanted: int, _: TextNeighbours | None
    ) -> list[_Candidate]:
        now = datetime.now(UTC)
        candidates = []
        for event in reversed(request.history):
            if event.product_id is None or event.event_type is EventType.SEARCH:
                continue
            index = self.items.get(event.product_id)
            if index is not None and not mask[index]:
                continue
            detail = f"You {VERBS.get(event.event_type, 'viewed')} this {_ago(now, event.timestamp)}"
            seconds = event.timestamp.timestamp()
            candidates.append(
                _Candidate(
                    event.product_id, seconds, [Reason(signal="history", detail=detail, contribution=None)]
                )
            )
        return candidates[: wanted * 4]


def _ago(now: datetime, moment: datetime) -> str:
    seconds = max(0.0, (now - moment).total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"
