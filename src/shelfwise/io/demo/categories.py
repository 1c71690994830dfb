"""The demo shop's categories, read from the package's `categories.toml`: what each category sells, what
it costs, which categories complement which, and how brands price against their category."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

DATA_FILE = "categories.toml"


@dataclass(frozen=True)
class CategorySpec:
    """What products of one category are made of, and what they cost (median price, log-normal spread)."""

    path: str
    nouns: tuple[str, ...]
    adjectives: tuple[str, ...]
    brands: tuple[str, ...]
    median_price: float
    uses: tuple[str, ...]
    colours: tuple[str, ...] = ()
    materials: tuple[str, ...] = ()  # for every noun
    noun_materials: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # for some nouns only
    sizes: tuple[str, ...] = ()
    sized_nouns: tuple[str, ...] = ()  # when given, only these nouns come in sizes
    size_label: str = "size"
    model_names: bool = False  # the adjectives are model names (Nova, Edge): "The Voltra Nova is a ..."
    price_sigma: float = 0.35
    repurchase_days: int | None = None  # consumables are bought again after about this many days

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.path.lower()).strip("-")

    def materials_for(self, noun: str) -> tuple[str, ...]:
        return self.noun_materials.get(noun, ()) if self.noun_materials else self.materials

    def sizes_for(self, noun: str) -> tuple[str, ...]:
        return self.sizes if not self.sized_nouns or noun in self.sized_nouns else ()


def _spec(table: Mapping[str, Any]) -> CategorySpec:
    """A CategorySpec from one `[[category]]` table: TOML arrays become the spec's tuples."""
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key == "noun_materials":
            values[key] = {noun: tuple(materials) for noun, materials in value.items()}
        elif isinstance(value, list):
            values[key] = tuple(value)
        else:
            values[key] = value
    return CategorySpec(**values)


def _load() -> dict[str, Any]:
    with resources.files("shelfwise.io.demo").joinpath(DATA_FILE).open("rb") as handle:
        return tomllib.load(handle)


_DATA = _load()

CATEGORIES: tuple[CategorySpec, ...] = tuple(_spec(table) for table in _DATA["category"])
# After buying from the key category, shoppers often buy from these (see categories.toml).
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    path: tuple(targets) for path, targets in _DATA["complements"].items()
}
# How a brand's prices sit against its category's median; brands not named sit at 1.0.
BRAND_PRICE_FACTORS: dict[str, float] = dict(_DATA["brand_price_factors"])
PREMIUM_MATERIALS: frozenset[str] = frozenset(_DATA["premium_materials"])
