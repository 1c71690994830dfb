"""Recently viewed: the shopper's own latest items, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shelfwise.domain import EventType, Reason, RecommendationKind
from shelfwise.recommend.kinds.base import VERBS, Candidate, Page


@dataclass(frozen=True)
class RecentlyViewed:
    kind: RecommendationKind = RecommendationKind.RECENTLY_VIEWED
    diversified: bool = False

    def candidates(self, page: Page) -> list[Candidate]:
        models, request, mask, wanted = page.models, page.request, page.mask, page.wanted
        now = datetime.now(UTC)
        candidates = []
        for event in reversed(request.history):
            if event.product_id is None or event.event_type is EventType.SEARCH:
                continue
            index = models.items.get(event.product_id)
            if index is not None and not mask[index]:
                continue
            detail = f"You {VERBS.get(event.event_type, 'viewed')} this {ago(now, event.timestamp)}"
            seconds = event.timestamp.timestamp()
            candidates.append(
                Candidate(
                    event.product_id, seconds, [Reason(signal="history", detail=detail, contribution=None)]
                )
            )
        # The same product viewed many times appears once after resolving: keep enough repeats for the page.
        return candidates[: wanted * 4]


def ago(now: datetime, moment: datetime) -> str:
    seconds = max(0.0, (now - moment).total_seconds())
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''} ago"
    return "just now"
