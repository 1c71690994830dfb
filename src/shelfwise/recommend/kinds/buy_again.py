"""Buy again: consumables the shopper bought, most due for a repurchase first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shelfwise.domain import EventType, Reason, RecommendationKind
from shelfwise.recommend.kinds.base import Candidate, Page


@dataclass(frozen=True)
class BuyAgain:
    kind: RecommendationKind = RecommendationKind.BUY_AGAIN
    diversified: bool = False

    def candidates(self, page: Page) -> list[Candidate]:
        """Due by each item's own repurchase interval (`recommend.repurchase`)."""
        models, request, mask, wanted = page.models, page.request, page.mask, page.wanted
        last_bought: dict[int, float] = {}
        for event in request.history:
            index = models.items.get(event.product_id or "")
            if event.event_type is EventType.PURCHASE and index is not None and mask[index]:
                last_bought[index] = event.timestamp.timestamp()
        due = models.repurchase.due(last_bought, datetime.now(UTC).timestamp())
        return [
            Candidate(
                models.items.ids[d.item],
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
