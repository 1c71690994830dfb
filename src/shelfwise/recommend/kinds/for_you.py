"""For you: what this shopper is likely to want next, from the order of what they looked at lately."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from shelfwise.domain import Event, EventType, Reason, RecommendationKind
from shelfwise.recommend.kinds.base import (
    VERBS,
    Candidate,
    FittedModels,
    Page,
    exclusions,
    title,
)
from shelfwise.recommend.kinds.trending import Trending
from shelfwise.recommend.popularity import top_positions

NO_HISTORY = Trending(detail="Popular right now: no history yet")


def for_you_scores(models: FittedModels, indices: np.ndarray) -> np.ndarray:
    """Every item's score after this history. The transformer reads the order of the latest items;
    co-occurrence adds pairs over the whole log (alone when no transformer was trained)."""
    return models.sequential.score(indices) if models.sequential else models.cooccurrence.score(indices)


@dataclass(frozen=True)
class ForYou:
    kind: RecommendationKind = RecommendationKind.FOR_YOU
    diversified: bool = True

    def candidates(self, page: Page) -> list[Candidate]:
        models, request, mask, wanted = page.models, page.request, page.mask, page.wanted
        item_events = [e for e in request.history if e.product_id and e.event_type is not EventType.SEARCH]
        item_events = item_events[-models.config.recent_history :]
        known = [(e, models.items.get(e.product_id or "")) for e in item_events]
        history = [(e, i) for e, i in known if i is not None]
        if not history:
            return NO_HISTORY.candidates(replace(page, text=None))
        indices = np.array([i for _, i in history], dtype=np.int64)
        scores = for_you_scores(models, indices)
        # Items just seen belong to recently-viewed; bought ones are not sold twice.
        allowed = mask & ~exclusions(models, request.history)
        allowed[indices] = False
        top = top_positions(scores, wanted, allowed)
        return _explain(models, top, scores, history)


def _explain(
    models: FittedModels, top: np.ndarray, scores: np.ndarray, history: list[tuple[Event, int]]
) -> list[Candidate]:
    """Each item's reason is the history item that contributed most to its score."""
    if not len(top):
        return []
    cooccurrence = models.cooccurrence
    recent = history[-cooccurrence.config.max_history :]
    indices = np.array([index for _, index in recent], dtype=np.int64)
    decay = cooccurrence.config.history_decay ** np.arange(len(recent) - 1, -1, -1, dtype=np.float64)
    # One sparse slice (history x candidates) instead of a look-up per pair.
    contributions = cooccurrence.table.matrix[indices][:, top].toarray() * decay[:, None]
    best_rows = contributions.argmax(axis=0)
    candidates = []
    for column, item in enumerate(top):
        row = int(best_rows[column])
        contribution = float(contributions[row, column])
        if contribution > 0:
            event, index = recent[row]
            reason = Reason(
                signal="co-occurrence",
                detail=f"Because you {VERBS.get(event.event_type, 'viewed')} “{title(models, index)}”",
                contribution=contribution,
            )
        elif models.sequential is not None:
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
        candidates.append(Candidate(models.items.ids[int(item)], float(scores[item]), [reason]))
    return candidates
