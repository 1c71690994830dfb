"""The catalog as columns: fast filter masks and facet counts shared by search and recommendations.

Categories, brands and price bands are coded as integers once per catalog, so a filter is one vectorised
comparison and a facet one `np.bincount`, even when a query matches most of a 50,000-product catalog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from pydantic import BaseModel, ConfigDict

from shelfwise.domain import FacetValue, Filters, Product
from shelfwise.domain.products import split_category
from shelfwise.io.components import Component

# Upper bounds of the price bands shown as a facet; the last band is open-ended.
PRICE_BANDS: tuple[float, ...] = (10, 25, 50, 100, 250, 500, 1000)
FACET_LIMIT = 20


def price_band(price: float) -> str:
    lower = 0.0
    for upper in PRICE_BANDS:
        if price < upper:
            return f"{lower:g}-{upper:g}"
        lower = upper
    return f"{lower:g}+"


BAND_ORDER = {price_band(bound): rank for rank, bound in enumerate((0.0, *PRICE_BANDS))}


@dataclass
class Codes:
    """A label per product as an integer code (-1: no label), with the labels in first-seen order."""

    values: list[str]
    codes: np.ndarray  # int32
    lookup: dict[str, int] = field(repr=False)

    @classmethod
    def of(cls, labels: Sequence[str | None]) -> Codes:
        index: dict[str, int] = {}
        codes = np.array([-1 if not v else index.setdefault(v, len(index)) for v in labels], dtype=np.int32)
        return cls(values=list(index), codes=codes, lookup=index)

    def top(self, positions: np.ndarray, limit: int | None) -> list[FacetValue]:
        """Counts among `positions`, largest first; ties in first-seen order among `positions`."""
        picked = self.codes[positions]
        picked = picked[picked >= 0]
        if not len(picked):
            return []
        counts = np.bincount(picked, minlength=len(self.values))
        first = np.full(len(self.values), np.iinfo(np.int64).max)
        np.minimum.at(first, picked, np.arange(len(picked)))
        present = np.flatnonzero(counts)
        ranked = present[np.lexsort((first[present], -counts[present]))][:limit]
        return [FacetValue(value=self.values[c], count=int(counts[c])) for c in ranked]


@dataclass
class CatalogArrays:
    """Row i describes products[i]; positions match the indexes built from the same product list."""

    products: list[Product]
    product_ids: list[str]
    categories: Codes  # the full path
    category_levels: list[Codes]  # level d: the path cut after d + 1 levels, as written
    category_levels_folded: list[Codes]  # the same, lower-cased, for case-insensitive filters
    brands: Codes  # as written, for facets
    brands_folded: Codes  # lower-cased, for filters
    price_bands: Codes
    prices: np.ndarray  # float64, NaN where unknown
    available: np.ndarray  # bool

    @classmethod
    def of(cls, products: Sequence[Product]) -> CatalogArrays:
        items = list(products)
        paths = [p.category_path for p in items]
        depth = max((len(p) for p in paths), default=0)
        cuts = [[" > ".join(p[: d + 1]) if len(p) > d else None for p in paths] for d in range(depth)]
        brands = [(p.brand or "").strip() or None for p in items]
        return cls(
            products=items,
            product_ids=[p.product_id for p in items],
            categories=Codes.of([p.category for p in items]),
            category_levels=[Codes.of(level) for level in cuts],
            category_levels_folded=[Codes.of([c.lower() if c else None for c in level]) for level in cuts],
            brands=Codes.of(brands),
            brands_folded=Codes.of([b.lower() if b else None for b in brands]),
            price_bands=Codes.of([None if p.price is None else price_band(p.price) for p in items]),
            prices=np.array([np.nan if p.price is None else p.price for p in items], dtype=np.float64),
            available=np.array([p.available for p in items], dtype=bool),
        )

    def __len__(self) -> int:
        return len(self.products)

    def position(self) -> dict[str, int]:
        return {pid: i for i, pid in enumerate(self.product_ids)}

    def mask(self, filters: Filters | None) -> np.ndarray:
        """True where a product passes every filter."""
        keep = np.ones(len(self), dtype=bool)
        if filters is None or filters.is_empty():
            return keep
        if filters.category:
            levels = split_category(filters.category)
            depth = len(levels)
            if depth > len(self.category_levels_folded):
                return np.zeros(len(self), dtype=bool)
            level = self.category_levels_folded[depth - 1]
            keep &= level.codes == level.lookup.get(" > ".join(levels).lower(), -2)
        if filters.brands:
            wanted = [self.brands_folded.lookup.get(b.strip().lower(), -2) for b in filters.brands]
            keep &= np.isin(self.brands_folded.codes, wanted)
        if filters.price_min is not None:
            keep &= self.prices >= filters.price_min  # NaN compares False: unknown prices drop out
        if filters.price_max is not None:
            keep &= self.prices <= filters.price_max
        if filters.available is not None:
            keep &= self.available == filters.available
        return keep

    def facets(
        self, positions: np.ndarray, category_prefix: str | None = None
    ) -> dict[str, list[FacetValue]]:
        """Counts over the given product positions: category one level below the prefix, brand, price band."""
        positions = np.asarray(positions, dtype=np.int64)
        depth = len(split_category(category_prefix))
        categories = (
            self.category_levels[depth].top(positions, FACET_LIMIT)
            if depth < len(self.category_levels)
            else []
        )
        bands = sorted(self.price_bands.top(positions, None), key=lambda facet: BAND_ORDER[facet.value])
        return {"category": categories, "brand": self.brands.top(positions, FACET_LIMIT), "price": bands}


class CatalogConfig(BaseModel):
    """A catalog has no settings: it is the product list as the indexes saw it."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Catalog(Component[CatalogConfig]):
    """The products an index was fitted on, in its positions, and their columns (`arrays`). A component:
    the products are its state, and the columns are rebuilt from them on load."""

    kind = "catalog"
    holds_user_data = False  # the products alone
    config_type = CatalogConfig

    def __init__(self, config: CatalogConfig | None = None) -> None:
        super().__init__(config)
        self._arrays: CatalogArrays | None = None

    def fit(self, products: Sequence[Product]) -> Self:
        self._arrays = CatalogArrays.of(products)
        return self

    @property
    def arrays(self) -> CatalogArrays:
        if self._arrays is None:
            raise RuntimeError("the catalog is not fitted: call fit(products) or load(directory) first")
        return self._arrays

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"products": [product.model_dump(mode="json") for product in self.arrays.products]}, {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.fit([Product.model_validate(product) for product in values["products"]])
