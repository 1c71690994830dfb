"""New arrivals: products with few or no events yet, ordered for this shopper when possible."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shelfwise.domain import Reason, RecommendationKind
from shelfwise.index.catalog import CatalogArrays
from shelfwise.recommend.kinds.base import Candidate, Page, exclusions
from shelfwise.recommend.popularity import top_positions


@dataclass(frozen=True)
class NewArrivals:
    kind: RecommendationKind = RecommendationKind.NEW_ARRIVALS
    diversified: bool = True

    def candidates(self, page: Page) -> list[Candidate]:
        """Cold-start exposure. The transformer scores the fresh products through their text-informed
        vectors when it exists and the shopper has a history; otherwise the newest products (by
        created_at, else the latest ingested) come first."""
        models, request, mask, wanted = page.models, page.request, page.mask, page.wanted
        config = models.config
        excluded = exclusions(models, request.history)
        fresh = mask & (models.event_counts.item_scores <= config.new_arrival_max_events)
        fresh &= ~excluded
        history = [i for e in request.history if (i := models.items.get(e.product_id or "")) is not None][
            -config.recent_history :
        ]
        if models.sequential is not None and history:
            scores = models.sequential.sequential.score(np.array(history, dtype=np.int64)).astype(np.float64)
            scores = scores - scores.min() + 1.0  # top_positions keeps positive scores only
            detail = "New in the shop, picked for what you viewed lately"
        else:
            scores = newness(models.catalog)
            detail = "New in the shop"
        scores[history] = 0.0
        chosen = top_positions(scores, wanted, fresh)
        candidates = [
            Candidate(
                models.items.ids[item],
                float(scores[item]),
                [Reason(signal="new-arrival", detail=detail, contribution=float(scores[item]))],
            )
            for item in chosen
        ]
        if len(chosen) < wanted:
            # A shop where every product already has events still has newest products to show.
            newest = newness(models.catalog)
            newest[history] = 0.0
            others = mask & ~fresh & ~excluded
            for item in top_positions(newest, wanted - len(chosen), others):
                reason = Reason(
                    signal="new-arrival", detail="Among the newest in the shop", contribution=None
                )
                candidates.append(Candidate(models.items.ids[item], 0.0, [reason]))
        return candidates


def newness(catalog: CatalogArrays) -> np.ndarray:
    """Higher for newer products: created_at when known, the catalog position (ingest order) after it."""
    n = len(catalog.products)
    position = np.arange(1, n + 1, dtype=np.float64) / max(n, 1)
    created = np.array(
        [p.created_at.timestamp() if p.created_at else np.nan for p in catalog.products],
        dtype=np.float64,
    )
    if np.isnan(created).all():
        return position
    known = ~np.isnan(created)
    ranked = np.zeros(n)
    ranked[known] = np.argsort(np.argsort(created[known])) + 1.0
    return ranked + position  # known dates dominate; unknown ones order by position
