"""Personalisation: a user's affinity for categories, brands and a price band, from their recent events."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shelfwise.domain import Event, Product
from shelfwise.domain.events import EVENT_WEIGHTS


@dataclass(frozen=True)
class UserProfile:
    """Shares in 0..1 of the user's weighted events per top-level category and per brand."""

    user_id: str
    categories: dict[str, float] = field(default_factory=dict)
    brands: dict[str, float] = field(default_factory=dict)
    log_price: float | None = None

    @property
    def empty(self) -> bool:
        return not self.categories and not self.brands

    def affinity(self, product: Product) -> float:
        """0..1: how much this product looks like what the user engaged with."""
        category = product.category_path[0].lower() if product.category_path else None
        score = 0.6 * self.categories.get(category, 0.0) if category else 0.0
        if product.brand:
            score += 0.3 * self.brands.get(product.brand.lower(), 0.0)
        if self.log_price is not None and product.price is not None:
            score += 0.1 * math.exp(-abs(math.log1p(product.price) - self.log_price))
        return score

    def reasons(self, product: Product) -> list[str]:
        found = []
        category = product.category_path[0] if product.category_path else None
        if category and category.lower() in self.categories:
            found.append(f"you often look at {category}")
        if product.brand and product.brand.lower() in self.brands:
            found.append(f"you like {product.brand}")
        return found


def build_profile(
    user_id: str, events: Sequence[Event], resolve: Callable[[str], Product | None]
) -> UserProfile:
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
    )
