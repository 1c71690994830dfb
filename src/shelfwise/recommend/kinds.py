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
from shelfwise.recommend.blend import BlendConfig, SequentialBlend, TuningInputs
from shelfwise.recommend.cooccurrence import CoOccurrence, CoOccurrenceConfig, CoPurchase, CoPurchaseConfig
from shelfwise.recommend.diversity import cap_per_category
from shelfwise.recommend.interactions import Interactions, Vocabulary, hold_out_next_items
from shelfwise.recommend.popularity import (
    Popularity,
    PopularityConfig,
    TrendingPopularity,
    TrendingPopularityConfig,
    top_positions,
)
from shelfwise.recommend.repurchase import RepurchaseConfig, RepurchaseIntervals
from shelfwise.recommend.sequential import SequentialConfig, SequentialRecommender

ITEM_EVENTS = [t.value for t in EventType if t is not EventType.SEARCH]
BASKET_EVENTS = [EventType.PURCHASE.value, EventType.ADD_TO_CART.value]
HISTORY_AFFINITY_ITEMS = 200  # items a shopper's history affinity covers: beyond them it is zero
HISTORY_AFFINITY_FLOOR = 0.05  # below this share of the best score an item's affinity is noise
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
    sequential: SequentialConfig = Field(
        default_factory=SequentialConfig,
        description="The for-you transformer; max_seconds caps its training (CPU seconds). The defaults are "
        "the configuration `shelfwise evaluate recs` measures (early stopping ends it well before the cap).",
    )
    sequential_enabled: bool = Field(default=True, description="Train the transformer when data allows.")
    sequential_min_actors: int = Field(
        default=50, ge=2, description="Fewest users or sessions with 2+ item events to train the transformer."
    )
    sequential_min_events: int = Field(
        default=1000, ge=2, description="Fewest item events to train the transformer; else co-occurrence."
    )
    blend: BlendConfig = Field(default_factory=BlendConfig)
    repurchase: RepurchaseConfig = Field(default_factory=RepurchaseConfig)
    max_per_category: int | None = Field(
        default=4, ge=1, description="Most items of one category on a for-you, trending or new-arrivals page."
    )
    new_arrival_max_events: int = Field(
        default=5, ge=0, description="Products with at most this many item events count as new arrivals."
    )


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


def sequential_trainable(config: RecommendationConfig, item_events: Interactions) -> bool:
    """Below these minimums a transformer learns noise: for-you then stays on co-occurrence."""
    if not config.sequential_enabled or len(item_events) < config.sequential_min_events:
        return False
    lengths = np.bincount(item_events.user_idx, minlength=item_events.n_users)
    return int((lengths >= 2).sum()) >= config.sequential_min_actors


class RecommendationModels:
    """Co-occurrence (for-you, similar), co-purchase (bought-together) and trending, over one catalog."""

    def __init__(self, config: RecommendationConfig | None = None) -> None:
        self.config = config or RecommendationConfig()
        self.catalog = CatalogArrays.of([])
        self.items = Vocabulary.of([])
        self.cooccurrence = CoOccurrence(self.config.cooccurrence)
        self.copurchase = CoPurchase(self.config.copurchase)
        self.trending = TrendingPopularity(self.config.trending)
        self.event_counts = Popularity(PopularityConfig(use_weights=False))
        self.repurchase = RepurchaseIntervals(self.config.repurchase)
        self.sequential: SequentialBlend | None = None

    def fit(
        self,
        products: Sequence[Product],
        events: pl.DataFrame,
        item_text_embeddings: np.ndarray | None = None,
    ) -> Self:
        """`item_text_embeddings`, one row per product in `products` order, inform the transformer."""
        self.catalog = CatalogArrays.of(products)
        self.items = Vocabulary.of(self.catalog.product_ids)
        item_events = interactions_of(events, self.items, ITEM_EVENTS)
        self.cooccurrence.fit(item_events)
        self.trending.fit(item_events)
        self.event_counts.fit(item_events)
        self.copurchase.fit(interactions_of(events, self.items, BASKET_EVENTS))
        self.repurchase.fit(interactions_of(events, self.items, [EventType.PURCHASE.value]))
        self.sequential = None
        if self.sequential_trainable(item_events):
            self.sequential = self._fit_sequential(item_events, item_text_embeddings)
        return self

    def _fit_sequential(
        self, item_events: Interactions, item_text_embeddings: np.ndarray | None
    ) -> SequentialBlend:
        """The transformer trains without some users' next items; they stop its training, then tune the
        blend and train the re-ranker against a co-occurrence model that has not seen them either."""
        config = self.config.sequential
        training, validation = hold_out_next_items(item_events, config.validation_users, config.seed)
        transformer = SequentialRecommender(config).fit(
            training, item_text_embeddings=item_text_embeddings, validation=validation
        )
        tuning = None
        if validation is not None:
            counts = np.bincount(training.item_idx, minlength=training.n_items)
            tuning = TuningInputs(CoOccurrence(self.config.cooccurrence).fit(training), counts)
        blend = SequentialBlend(transformer, self.cooccurrence, self.config.blend, fit_components=False)
        return blend.fit(item_events, validation=transformer.validation, tuning=tuning)

    def sequential_trainable(self, item_events: Interactions) -> bool:
        return sequential_trainable(self.config, item_events)

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
        self.event_counts.save(directory / "event_counts")
        self.repurchase.save(directory / "repurchase")
        if self.sequential is not None:
            self.sequential.sequential.save(directory / "sequential")
            self.sequential.save_stage(directory / "sequential")

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
        # Bundles trained before these components existed still load; their kinds fall back.
        if (directory / "event_counts").is_dir():
            models.event_counts = Popularity.load(directory / "event_counts")
        if (directory / "repurchase").is_dir():
            models.repurchase = RepurchaseIntervals.load(directory / "repurchase")
        if (directory / "sequential").is_dir():
            transformer = SequentialRecommender.load(directory / "sequential")
            blend = SequentialBlend(
                transformer, models.cooccurrence, models.config.blend, fit_components=False
            )
            models.sequential = blend.load_stage(directory / "sequential")
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
            RecommendationKind.BUY_AGAIN: self._buy_again,
            RecommendationKind.NEW_ARRIVALS: self._new_arrivals,
        }
        # Ask for more than n: some candidates drop out when resolved against the live catalog, and the
        # category cap defers some.
        wanted = request.n * 3 + 10
        candidates = handlers[request.kind](request, self.catalog.mask(filters), wanted, text_neighbours)
        diversified = request.kind in DIVERSIFIED_KINDS
        cap = self.config.max_per_category if diversified else None
        return self._resolve(candidates, request.n, filters, resolve, cap)

    def _resolve(
        self,
        candidates: list[_Candidate],
        n: int,
        filters: Filters,
        resolve: Resolver,
        max_per_category: int | None = None,
    ) -> list[Recommendation]:
        results: list[Recommendation] = []
        seen: set[str] = set()
        # Without a cap the first n resolved are the page; with one, collect more and let the cap choose.
        enough = n if max_per_category is None else n * 3
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
            if len(results) == enough:
                break
        return cap_per_category(results, lambda r: r.product.category, max_per_category, n)

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
        # The transformer reads the order of the latest items; co-occurrence adds pairs over the whole log.
        scores = self.sequential.score(indices) if self.sequential else self.cooccurrence.score(indices)
        # Items just seen belong to recently-viewed; bought ones are not sold twice.
        allowed = mask & ~self._exclusions(request.history)
        allowed[indices] = False
        top = top_positions(scores, wanted, allowed)
        return self._explain_for_you(top, scores, history)

    def history_affinity(
        self, history: Sequence[Event], top: int = HISTORY_AFFINITY_ITEMS
    ) -> dict[str, float]:
        """The for-you scorer's view of a shopper, for personalising search: product id -> 0..1, its score
        over the best score for this history, for its `top` items and only where at least
        HISTORY_AFFINITY_FLOOR. Relative to the best, so that only items the model is confident about move
        a search (linear ranks over the top 200 moved many mediocre items and cost NDCG on the demo
        shop's validation users). Empty without item history."""
        indices = self._history_indices(history)
        if not len(indices) or top < 1:
            return {}
        scores = self.sequential.score(indices) if self.sequential else self.cooccurrence.score(indices)
        best = top_positions(scores, top, np.ones(len(scores), dtype=bool))
        if not len(best):
            return {}
        relative = scores[best] / scores[best[0]]
        return {
            self.items.ids[int(item)]: float(value)
            for item, value in zip(best, relative, strict=True)
            if value >= HISTORY_AFFINITY_FLOOR
        }

    def _history_indices(self, history: Sequence[Event]) -> np.ndarray:
        """Item indices of the latest `recent_history` item events (searches and unknown items left out)."""
        known = [
            index
            for event in history
            if event.product_id and event.event_type is not EventType.SEARCH
            if (index := self.items.get(event.product_id)) is not None
        ]
        return np.array(known[-self.config.recent_history :], dtype=np.int64)

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
            elif self.sequential is not None:
                event, index = recent[-1]
                reason = Reason(
                    signal="sequential",
                    detail=f"Often comes next after what you {VERBS.get(event.event_type, 'viewed')} lately",
                    contribution=float(scores[item]),
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

    def _buy_again(
        self, request: RecommendRequest, mask: np.ndarray, wanted: int, _: TextNeighbours | None
    ) -> list[_Candidate]:
        """Consumables the shopper bought, most due for a repurchase first (by each item's interval)."""
        last_bought: dict[int, float] = {}
        for event in request.history:
            index = self.items.get(event.product_id or "")
            if event.event_type is EventType.PURCHASE and index is not None and mask[index]:
                last_bought[index] = event.timestamp.timestamp()
        due = self.repurchase.due(last_bought, datetime.now(UTC).timestamp())
        return [
            _Candidate(
                self.items.ids[d.item],
                d.score,
                [
                    Reason(
                        signal="repurchase",
                        detail=f"You bought this {d.elapsed_days:.0f} days ago; "
                        f"shoppers buy it again about every {d.interval_days:.0f} days",
                        contribution=d.score,
                    )
                ],
            )
            for d in due[:wanted]
        ]

    def _new_arrivals(
        self, request: RecommendRequest, mask: np.ndarray, wanted: int, _: TextNeighbours | None
    ) -> list[_Candidate]:
        """Products with few or no events yet: cold-start exposure, ordered for this shopper when possible.

        The transformer scores them through their text-informed vectors when it exists and the shopper has a
        history; otherwise the newest products (by created_at, else the latest ingested) come first."""
        fresh = mask & (self.event_counts.item_scores <= self.config.new_arrival_max_events)
        fresh &= ~self._exclusions(request.history)
        history = [i for e in request.history if (i := self.items.get(e.product_id or "")) is not None][
            -self.config.recent_history :
        ]
        if self.sequential is not None and history:
            scores = self.sequential.sequential.score(np.array(history, dtype=np.int64)).astype(np.float64)
            scores = scores - scores.min() + 1.0  # top_positions keeps positive scores only
            detail = "New in the shop, picked for what you viewed lately"
        else:
            scores = self._newness()
            detail = "New in the shop"
        scores[history] = 0.0
        chosen = top_positions(scores, wanted, fresh)
        candidates = [
            _Candidate(
                self.items.ids[item],
                float(scores[item]),
                [Reason(signal="new-arrival", detail=detail, contribution=float(scores[item]))],
            )
            for item in chosen
        ]
        if len(chosen) < wanted:
            # A shop where every product already has events still has newest products to show.
            newest = self._newness()
            newest[history] = 0.0
            others = mask & ~fresh & ~self._exclusions(request.history)
            for item in top_positions(newest, wanted - len(chosen), others):
                reason = Reason(
                    signal="new-arrival", detail="Among the newest in the shop", contribution=None
                )
                candidates.append(_Candidate(self.items.ids[item], 0.0, [reason]))
        return candidates

    def _newness(self) -> np.ndarray:
        """Higher for newer products: created_at when known, the catalog position (ingest order) after it."""
        n = len(self.catalog.products)
        position = np.arange(1, n + 1, dtype=np.float64) / max(n, 1)
        created = np.array(
            [p.created_at.timestamp() if p.created_at else np.nan for p in self.catalog.products],
            dtype=np.float64,
        )
        if np.isnan(created).all():
            return position
        known = ~np.isnan(created)
        ranked = np.zeros(n)
        ranked[known] = np.argsort(np.argsort(created[known])) + 1.0
        return ranked + position  # known dates dominate; unknown ones order by position


DIVERSIFIED_KINDS = frozenset(
    {RecommendationKind.FOR_YOU, RecommendationKind.TRENDING, RecommendationKind.NEW_ARRIVALS}
)


def _ago(now: datetime, moment: datetime) -> str:
    seconds = max(0.0, (now - moment).total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"
