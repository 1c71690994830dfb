"""Personalisation: a user's affinity for categories, brands, a price band and the items the
recommendation models expect next, from their recent events; and the boosts it gives their search hits."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from shelfwise.domain import Event, Product
from shelfwise.domain.events import EVENT_WEIGHTS
from shelfwise.search.explain import Adjustment

# Shares of the 0..1 affinity. The model term is what the for-you scorer (the sequential transformer
# blended with co-occurrence) makes of the history: it knows which items follow which, where the shares
# only know aggregates. On the demo shop's held-back searches (`shelfwise evaluate personal`) it neither
# helped nor hurt measurably at 0.5 and hurt at higher weights: a search states a new intent, the model
# predicts the next item of the last one. It costs a transformer pass per search, so it is off (0) by
# default (SearchConfig.personal_model_weight); the engine skips that pass when the weight is 0.
CATEGORY_WEIGHT = 0.6
BRAND_WEIGHT = 0.3
PRICE_WEIGHT = 0.1
MODEL_WEIGHT = 0.0
# How many of the best ranked hits personalisation may move: it reorders what the query found, it does not
# bring up products from deep in the list.
PERSONAL_DEPTH = 100


@dataclass(frozen=True)
class UserProfile:
    """Shares in 0..1 of the user's weighted events per top-level category and per brand, the median log
    price, and `model_scores`: product id -> 0..1, the recommendation models' view of the user's history."""

    user_id: str
    categories: dict[str, float] = field(default_factory=dict)
    brands: dict[str, float] = field(default_factory=dict)
    log_price: float | None = None
    model_scores: Mapping[str, float] = field(default_factory=dict)
    model_weight: float = MODEL_WEIGHT

    @property
    def empty(self) -> bool:
        return not self.categories and not self.brands and not self.model_scores

    def parts(self, product: Product) -> dict[str, float]:
        """Each term's share of the affinity, zero terms left out."""
        category = product.category_path[0].lower() if product.category_path else None
        found = {
            "category": CATEGORY_WEIGHT * self.categories.get(category, 0.0) if category else 0.0,
            "brand": BRAND_WEIGHT * self.brands.get(product.brand.lower(), 0.0) if product.brand else 0.0,
            "price": 0.0,
            "model": self.model_weight * self.model_scores.get(product.product_id, 0.0),
        }
        if self.log_price is not None and product.price is not None:
            found["price"] = PRICE_WEIGHT * math.exp(-abs(math.log1p(product.price) - self.log_price))
        return {name: value for name, value in found.items() if value > 0}

    def affinity(self, product: Product) -> float:
        """How much this product looks like what the user engaged with: 0..1 without the model term,
        up to 1 + model_weight with it."""
        return sum(self.parts(product).values())

    def reasons(self, product: Product) -> list[str]:
        parts = self.parts(product)
        found = []
        category = product.category_path[0] if product.category_path else None
        if category and "category" in parts:
            found.append(f"you often look at {category}")
        if product.brand and "brand" in parts:
            found.append(f"you like {product.brand}")
        if "model" in parts:
            # The other terms describe the history; this one is a model's guess, so it says how much it
            # weighed in the boost.
            share = parts["model"] / sum(parts.values())
            found.append(f"fits what you looked at lately ({share:.0%} of this boost)")
        return found


def build_profile(
    user_id: str,
    events: Sequence[Event],
    resolve: Callable[[str], Product | None],
    model_scores: Mapping[str, float] | None = None,
    model_weight: float = MODEL_WEIGHT,
) -> UserProfile:
    """`model_scores` (product id -> 0..1) come from `RecommendationModels.history_affinity` when a
    trained bundle exists."""
    categories: dict[str, float] = defaultdict(float)
    brands: dict[str, float] = defaultdict(float)
    prices: list[float] = []
    for event in events:
        if event.product_id is None:
            continue
        product = resolve(event.product_id)
        if product is None:
            continue
        weight = EVENT_WEIGHTS.get(event.event_type, 1.0)
        if product.category_path:
            categories[product.category_path[0].lower()] += weight
        if product.brand:
            brands[product.brand.lower()] += weight
        if product.price is not None:
            prices.append(math.log1p(product.price))
    category_total = sum(categories.values()) or 1.0
    brand_total = sum(brands.values()) or 1.0
    return UserProfile(
        user_id=user_id,
        categories={k: v / category_total for k, v in categories.items()},
        brands={k: v / brand_total for k, v in brands.items()},
        log_price=sorted(prices)[len(prices) // 2] if prices else None,
        model_scores=dict(model_scores or {}),
        model_weight=model_weight,
    )


def personal_boosts(
    profile: UserProfile | None,
    positions: np.ndarray,
    scores: np.ndarray,
    products: Sequence[Product],
    weight: float,
    spread: float,
) -> tuple[np.ndarray, dict[int, list[Adjustment]]]:
    """`scores` of the ranked `positions` with each of the first `PERSONAL_DEPTH` raised by `weight` times
    `spread` times the user's affinity for it, and those raises with their reasons, keyed by catalog
    position. The list is not re-sorted here: merchandising rules shift scores too, then one sort follows."""
    if profile is None or profile.empty or weight <= 0:
        return scores, {}
    scores = scores.copy()
    adjustments: dict[int, list[Adjustment]] = {}
    for i in range(min(len(positions), PERSONAL_DEPTH)):
        product = products[int(positions[i])]
        boost = weight * spread * profile.affinity(product)
        if boost > 0:
            scores[i] += boost
            detail = "; ".join(profile.reasons(product)) or "close to what you usually buy"
            adjustments.setdefault(int(positions[i]), []).append(("personal", detail, boost))
    return scores, adjustments
