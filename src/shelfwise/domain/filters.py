"""Filters shared by search and recommendations."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shelfwise.domain.products import Product, split_category
from shelfwise.domain.values import Price


class Filters(BaseModel):
    """Restrict results. `category` matches a path prefix: `Furniture` matches `Furniture > Sofas`."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = None
    brands: list[str] = Field(default_factory=list)
    price_min: Price | None = None
    price_max: Price | None = None
    available: bool | None = None

    @model_validator(mode="after")
    def _check_price_range(self) -> Filters:
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ValueError(f"price_min ({self.price_min}) is greater than price_max ({self.price_max})")
        return self

    def is_empty(self) -> bool:
        return (
            self.category is None
            and not self.brands
            and self.price_min is None
            and self.price_max is None
            and self.available is None
        )

    def matches(self, product: Product) -> bool:
        """Whether one product passes every filter (the row-wise twin of CatalogArrays.mask)."""
        if self.category:
            prefix = [level.lower() for level in split_category(self.category)]
            if [level.lower() for level in product.category_path][: len(prefix)] != prefix:
                return False
        if self.brands and (product.brand or "").strip().lower() not in {
            b.strip().lower() for b in self.brands
        }:
            return False
        if self.price_min is not None and (product.price is None or product.price < self.price_min):
            return False
        if self.price_max is not None and (product.price is None or product.price > self.price_max):
            return False
        return self.available is None or product.available == self.available
