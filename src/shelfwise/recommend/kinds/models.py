"""The recommendation kinds a shop page needs, composed from the fitted item models.

`RecommendationModels` is trained over the catalog as it was at training time: item index i is catalog
position i. Products are resolved through the live catalog at serving time, so a deleted product is never
shown and a changed price or availability is checked against the request's filters once more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from shelfwise.domain import (
    Event,
    EventType,
    Explanation,
    Filters,
    Product,
    Recommendation,
    RecommendationKind,
)
from shelfwise.images.component import ProductImages
from shelfwise.index.catalog import CatalogArrays
from shelfwise.io.components import Component, ComponentFormatError, load_part, load_required_part
from shelfwise.io.forgetting import Forgotten, Subject
from shelfwise.recommend.blend import SequentialBlend, TuningInputs
from shelfwise.recommend.cooccurrence import CoOccurrence, CoPurchase
from shelfwise.recommend.diversity import cap_per_category
from shelfwise.recommend.interactions import Interactions, Vocabulary, hold_out_next_items
from shelfwise.recommend.kinds.base import Candidate, Kind, Page, Resolver, TextNeighbours
from shelfwise.recommend.kinds.bought_together import BoughtTogether
from shelfwise.recommend.kinds.buy_again import BuyAgain
from shelfwise.recommend.kinds.config import (
    BASKET_EVENTS,
    ITEM_EVENTS,
    RecommendationConfig,
    RecommendRequest,
    interactions_of,
    sequential_trainable,
)
from shelfwise.recommend.kinds.for_you import ForYou, for_you_scores
from shelfwise.recommend.kinds.new_arrivals import NewArrivals
from shelfwise.recommend.kinds.recently_viewed import RecentlyViewed
from shelfwise.recommend.kinds.similar import Similar
from shelfwise.recommend.kinds.similar_looking import SimilarLooking
from shelfwise.recommend.kinds.trending import Trending
from shelfwise.recommend.popularity import Popularity, PopularityConfig, TrendingPopularity, top_positions
from shelfwise.recommend.repurchase import RepurchaseIntervals
from shelfwise.recommend.sequential import EpochProgress, SequentialRecommender

HISTORY_AFFINITY_ITEMS = 200  # items a shopper's history affinity covers: beyond them it is zero
HISTORY_AFFINITY_FLOOR = 0.05  # below this share of the best score an item's affinity is noise
CATALOG_FILE = "catalog.jsonl"  # the products as trained on, one JSON object a line, in item order

KINDS: Mapping[RecommendationKind, Kind] = {
    kind.kind: kind
    for kind in (
        ForYou(),
        Similar(),
        SimilarLooking(),
        BoughtTogether(),
        Trending(),
        RecentlyViewed(),
        BuyAgain(),
        NewArrivals(),
    )
}
DIVERSIFIED_KINDS = frozenset(kind for kind, handler in KINDS.items() if handler.diversified)


class RecommendationModels(Component[RecommendationConfig]):
    """Co-occurrence (for-you, similar), co-purchase (bought-together) and trending, over one catalog.

    A pipeline: each fitted model is a part saved in its own subdirectory, the catalog a JSON-lines file."""

    kind: ClassVar[str] = "recommendation-models"
    config_type: ClassVar[type[RecommendationConfig]] = RecommendationConfig
    holds_user_data = False  # its own state is the catalog; its models answer for themselves

    def __init__(self, config: RecommendationConfig | None = None) -> None:
        super().__init__(config)
        self.catalog = CatalogArrays.of([])
        self.items = Vocabulary.of([])
        self.cooccurrence = CoOccurrence(self.config.cooccurrence)
        self.copurchase = CoPurchase(self.config.copurchase)
        self.trending = TrendingPopularity(self.config.trending)
        self.event_counts = Popularity(PopularityConfig(use_weights=False))
        self.repurchase = RepurchaseIntervals(self.config.repurchase)
        self.sequential: SequentialBlend | None = None
        self.images: ProductImages | None = None
        self.image_items = np.zeros(0, dtype=np.int64)

    def fit(
        self,
        products: Sequence[Product],
        events: pl.DataFrame,
        item_text_embeddings: np.ndarray | None = None,
        *,
        progress: EpochProgress | None = None,
    ) -> Self:
        """`item_text_embeddings`, one row per product in `products` order, inform the transformer;
        `progress` hears of each of its training epochs."""
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
            self.sequential = self._fit_sequential(item_events, item_text_embeddings, progress)
        return self

    def _fit_sequential(
        self,
        item_events: Interactions,
        item_text_embeddings: np.ndarray | None,
        progress: EpochProgress | None = None,
    ) -> SequentialBlend:
        """The transformer trains without some users' next items; they stop its training, then tune the
        blend and train the re-ranker against a co-occurrence model that has not seen them either."""
        config = self.config.sequential
        training, validation = hold_out_next_items(item_events, config.validation_users, config.seed)
        transformer = SequentialRecommender(config, progress=progress).fit(
            training, item_text_embeddings=item_text_embeddings, validation=validation
        )
        tuning = None
        if validation is not None:
            counts = np.bincount(training.item_idx, minlength=training.n_items)
            tuning = TuningInputs(CoOccurrence(self.config.cooccurrence).fit(training), counts)
        blend = SequentialBlend(
            transformer,
            self.cooccurrence,
            self.config.blend,
            fit_components=False,
            shared_cooccurrence=True,  # saved once, as this pipeline's own part
        )
        return blend.fit(item_events, validation=transformer.validation, tuning=tuning)

    def forget(self, subject: Subject) -> Forgotten:
        """Each model gets the subject's events as its training saw them (the same event types, over this
        catalog) and removes them where its state allows: the counts are subtracted; the transformer
        blend and a repurchase interval they gave ask for a retrain."""
        item_events = interactions_of(subject.events, self.items, ITEM_EVENTS)
        purchases = interactions_of(subject.events, self.items, [EventType.PURCHASE.value])
        forgotten = Forgotten().add(
            [
                self.cooccurrence.forget_interactions(item_events),
                self.trending.forget_interactions(item_events),
                self.event_counts.forget_interactions(item_events),
                self.copurchase.forget_interactions(
                    interactions_of(subject.events, self.items, BASKET_EVENTS)
                ),
                self.repurchase.forget_interactions(purchases),
            ]
        )
        if self.sequential is not None:
            # Its co-occurrence model is this pipeline's own, subtracted above.
            forgotten.add([self.sequential.forget_interactions(item_events)])
        return forgotten

    def sequential_trainable(self, item_events: Interactions) -> bool:
        return sequential_trainable(self.config, item_events)

    # persistence ----------------------------------------------------------------------------------

    def save_native(self, directory: Path) -> None:
        with (directory / CATALOG_FILE).open("w", encoding="utf-8") as out:
            for product in self.catalog.products:
                out.write(product.model_dump_json() + "\n")

    def load_native(self, directory: Path) -> None:
        path = directory / CATALOG_FILE
        if not path.is_file():
            raise ComponentFormatError(f"no saved catalog at {directory}: {CATALOG_FILE} is missing")
        with path.open(encoding="utf-8") as lines:
            products = [Product.model_validate_json(line) for line in lines if line.strip()]
        self.catalog = CatalogArrays.of(products)
        self.items = Vocabulary.of(self.catalog.product_ids)

    def parts(self) -> Mapping[str, Component[Any] | None]:
        return {
            "cooccurrence": self.cooccurrence,
            "copurchase": self.copurchase,
            "trending": self.trending,
            "event_counts": self.event_counts,
            "repurchase": self.repurchase,
            "sequential": self.sequential,
        }

    def restore_parts(self, directory: Path, saved: Sequence[str]) -> None:
        self.cooccurrence = load_required_part(directory, "cooccurrence", CoOccurrence, saved)
        self.copurchase = load_required_part(directory, "copurchase", CoPurchase, saved)
        self.trending = load_required_part(directory, "trending", TrendingPopularity, saved)
        self.event_counts = load_required_part(directory, "event_counts", Popularity, saved)
        self.repurchase = load_required_part(directory, "repurchase", RepurchaseIntervals, saved)
        self.sequential = load_part(directory, "sequential", SequentialBlend, saved)
        if self.sequential is not None:
            # The blend was saved without the co-occurrence model it shares with for-you and similar.
            self.sequential.cooccurrence = self.cooccurrence
            self.sequential.shared_cooccurrence = True
            self.sequential.fit_components = False

    def attach_images(self, images: ProductImages | None) -> Self:
        """The version's pictures (saved apart, by the trainer), for the kinds that read them."""
        self.images = images
        rows = images.product_ids if images is not None else []
        positions = [self.items.get(pid) for pid in rows]
        self.image_items = np.asarray([-1 if p is None else p for p in positions], dtype=np.int64)
        return self

    # serving ----------------------------------------------------------------------------------------

    def recommend(
        self,
        request: RecommendRequest,
        resolve: Resolver,
        text_neighbours: TextNeighbours | None = None,
    ) -> list[Recommendation]:
        filters = request.filters or Filters()
        kind = KINDS[request.kind]
        # Ask for more than n: some candidates drop out when resolved against the live catalog, and the
        # category cap defers some.
        wanted = request.n * 3 + 10
        candidates = kind.candidates(Page(self, request, self.catalog.mask(filters), wanted, text_neighbours))
        cap = self.config.max_per_category if kind.diversified else None
        return self._resolve(candidates, request.n, filters, resolve, cap)

    def _resolve(
        self,
        candidates: list[Candidate],
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
        scores = for_you_scores(self, indices)
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
