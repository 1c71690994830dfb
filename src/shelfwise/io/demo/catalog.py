"""The demo catalog: products drawn from the categories' words and prices, with skewed popularity, new
arrivals and a few products made to trend in the last week.

`Catalog.build` draws everything from the generator it is given, in a fixed order: the same seed gives
the same products.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any, Literal

from shelfwise.io.demo.categories import BRAND_PRICE_FACTORS, CATEGORIES, PREMIUM_MATERIALS, CategorySpec

PriceBand = Literal["budget", "mid", "premium"]

DEMO_CURRENCY = "USD"
BAND_CENTRES: dict[str, float] = {"budget": -0.45, "mid": 0.0, "premium": 0.45}  # log(price / median)


def iso(moment: datetime) -> str:
    """A UTC time as the demo files write it, to the second."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class DemoProduct:
    """One generated product and the parts its title was made of (shoppers search with those words)."""

    index: int
    product_id: str
    spec: CategorySpec
    noun: str
    brand: str
    adjective: str
    colour: str | None
    material: str | None
    size: str | None
    title: str
    price: float
    available: bool
    created: datetime
    updated: datetime
    description: str

    def row(self) -> dict[str, Any]:
        attributes = {"colour": self.colour, "material": self.material, self.spec.size_label: self.size}
        return {
            "product_id": self.product_id,
            "title": self.title,
            "description": self.description,
            "category": self.spec.path,
            "brand": self.brand,
            "price": self.price,
            "currency": DEMO_CURRENCY,
            "attributes": {key: value for key, value in attributes.items() if value is not None},
            "image_url": f"/static/demo/{self.spec.slug}.svg",
            "available": self.available,
            "created_at": iso(self.created),
            "updated_at": iso(self.updated),
        }


@dataclass
class Catalog:
    """The products and the indexes shoppers sample them from."""

    products: list[DemoProduct]
    by_category: dict[str, list[int]]
    by_noun: dict[tuple[str, str], list[int]]
    by_brand: dict[tuple[str, str], list[int]]
    # Cumulative sampling weights per (category, price band, trending week?), over by_category's order.
    weights: dict[tuple[str, str, bool], list[float]]
    trending: list[int]

    @classmethod
    def build(cls, rng: random.Random, n_products: int, end: datetime, days: int) -> Catalog:
        counts = _category_counts(rng, n_products)
        titles: set[str] = set()
        products: list[DemoProduct] = []
        for spec, count in zip(CATEGORIES, counts, strict=True):
            for _ in range(count):
                products.append(_make_product(rng, spec, len(products), titles, end, days))
        by_category: dict[str, list[int]] = {spec.path: [] for spec in CATEGORIES}
        by_noun: dict[tuple[str, str], list[int]] = {}
        by_brand: dict[tuple[str, str], list[int]] = {}
        for product in products:
            by_category[product.spec.path].append(product.index)
            by_noun.setdefault((product.spec.path, product.noun), []).append(product.index)
            by_brand.setdefault((product.spec.path, product.brand), []).append(product.index)
        popularity = _popularity(rng, by_category, len(products))
        trending = _pick_trending(rng, products, by_category, end)
        weights = _weights(products, by_category, popularity, trending)
        return cls(products, by_category, by_noun, by_brand, weights, trending)

    def rows(self) -> list[dict[str, Any]]:
        return [product.row() for product in self.products]


def _category_counts(rng: random.Random, n_products: int) -> list[int]:
    """Products per category: uneven, like a real shop, and at least one each."""
    shares = [rng.uniform(0.6, 1.4) for _ in CATEGORIES]
    total = sum(shares)
    counts = [max(1, int(n_products * share / total)) for share in shares]
    counts[counts.index(max(counts))] += n_products - sum(counts)
    return counts


def _make_product(
    rng: random.Random, spec: CategorySpec, index: int, titles: set[str], end: datetime, days: int
) -> DemoProduct:
    brand = rng.choice(spec.brands)
    noun = rng.choice(spec.nouns)
    adjective = rng.choice([word for word in spec.adjectives if word not in noun] or spec.adjectives)
    colour = rng.choice(spec.colours) if spec.colours and rng.random() < 0.8 else None
    materials = spec.materials_for(noun)
    material = rng.choice(materials) if materials and rng.random() < 0.75 else None
    sizes = spec.sizes_for(noun)
    size = rng.choice(sizes) if sizes else None
    title = _title(brand, adjective, material, noun, size, colour)
    edition = 2
    while title in titles:
        # Same parts drawn twice: real catalogs tell such products apart by a model or edition name.
        title = _title(
            brand, adjective, material, f"{noun} {_EDITIONS[edition % len(_EDITIONS)]}", size, colour
        )
        title += f" {edition // len(_EDITIONS) + 1}" if edition >= len(_EDITIONS) else ""
        edition += 1
    titles.add(title)
    factor = BRAND_PRICE_FACTORS.get(brand, 1.0) * (1.25 if material in PREMIUM_MATERIALS else 1.0)
    price = _shop_price(spec.median_price * factor * math.exp(rng.gauss(0.0, spec.price_sigma)))
    created = _created_at(rng, end, days)
    updated = created if rng.random() < 0.5 else created + (end - created) * rng.random()
    return DemoProduct(
        index=index,
        product_id=f"P{index + 1:05d}",
        spec=spec,
        noun=noun,
        brand=brand,
        adjective=adjective,
        colour=colour,
        material=material,
        size=size,
        title=title,
        price=price,
        available=rng.random() >= 0.03,
        created=created,
        updated=updated.replace(microsecond=0),
        description=_description(rng, spec, brand, adjective, noun, material, colour, size),
    )


_EDITIONS = ("Plus", "Pro", "Lite", "Max", "Mini", "Select", "Signature", "Essential")


def _title(
    brand: str, adjective: str, material: str | None, noun: str, size: str | None, colour: str | None
) -> str:
    words = [brand, adjective] + ([material] if material and material not in noun else []) + [noun]
    title = " ".join(words)
    if size:
        title += f", {size}"
    if colour:
        title += f", {colour}" if not size else f" - {colour}"
    return title


def _shop_price(raw: float) -> float:
    """Shop-like prices: 4.99, 24.99, 149.00, 1299.00."""
    if raw < 100:
        return max(0.99, round(raw) - 0.01)
    if raw < 1000:
        return float(round(raw / 5) * 5) - 0.01
    return float(round(raw / 50) * 50) - 1.0


def _created_at(rng: random.Random, end: datetime, days: int) -> datetime:
    draw = rng.random()
    if draw < 0.05:  # new arrivals, some of which trend
        age = timedelta(days=rng.uniform(1, 14))
    elif draw < 0.15:
        age = timedelta(days=rng.uniform(14, max(15, days)))
    else:
        age = timedelta(days=rng.uniform(days, 420))
    return (end - age).replace(microsecond=0)


def _description(
    rng: random.Random,
    spec: CategorySpec,
    brand: str,
    adjective: str,
    noun: str,
    material: str | None,
    colour: str | None,
    size: str | None,
) -> str:
    made_of = f" in {_lower(material)}" if material and material not in noun else ""
    use = rng.choice(spec.uses)
    plural = noun.endswith("s") and not noun.endswith("ss")  # "Running Socks", "Magnetic Tiles"
    if spec.model_names:
        what = _lower(noun) if plural else f"{_article(noun).lower()} {_lower(noun)}"
        first = f"The {brand} {adjective} {'are' if plural else 'is'} {what}{made_of} for {use}."
    else:
        described = f"{_lower(adjective)} {_lower(noun)}{made_of} for {use}."
        first = described[0].upper() + described[1:] if plural else f"{_article(adjective)} {described}"
    sentences = [first]
    extras = []
    if colour:
        extras.append(f"Finished in {_lower(colour)}.")
    if size:
        # "Ages 6+" and "500 Pieces" say what they are; "64 GB" needs its label.
        extras.append(
            f"{size}." if spec.size_label in size.lower() else f"{spec.size_label.capitalize()}: {size}."
        )
    durable = spec.repurchase_days is None and spec.median_price >= 30
    lines = (*_BRAND_LINES, _WARRANTY_LINE) if durable else _BRAND_LINES
    extras.append(rng.choice(lines).format(brand=brand, years=rng.choice((1, 2, 3, 5))))
    rng.shuffle(extras)
    sentences.extend(extras[: rng.randint(0, 2)])
    return " ".join(sentences)


_WARRANTY_LINE = "Designed by {brand} and backed by a {years}-year warranty."
_BRAND_LINES = (
    "A customer favourite from {brand}.",
    "{brand} quality at an everyday price.",
    "Made to last, from {brand}.",
)


def _article(word: str) -> str:
    return "An" if word[0].lower() in "aeiou" else "A"


def _lower(text: str) -> str:
    """Lower case for running text, keeping acronyms and codes: "USB-C Charger" -> "USB-C charger"."""
    return " ".join(word if re.search(r"\d|[A-Z]{2}", word) else word.lower() for word in text.split())


def _popularity(rng: random.Random, by_category: dict[str, list[int]], n: int) -> list[float]:
    """Zipf-like within each category: a few hits, a long tail."""
    popularity = [0.0] * n
    for members in by_category.values():
        order = members[:]
        rng.shuffle(order)
        for rank, index in enumerate(order):
            popularity[index] = 1.0 / (rank + 1) ** 0.9
    return popularity


def _pick_trending(
    rng: random.Random, products: list[DemoProduct], by_category: dict[str, list[int]], end: datetime
) -> list[int]:
    """About one product in 400, in distinct categories, half of them new arrivals."""
    wanted = max(3, len(products) // 400)
    paths = list(by_category)
    rng.shuffle(paths)
    trending: list[int] = []
    for number, path in enumerate(paths[:wanted]):
        members = by_category[path]
        fresh = [
            i for i in members if products[i].created > end - timedelta(days=14) and products[i].available
        ]
        pool = (
            fresh if fresh and number % 2 == 0 else [i for i in members if products[i].available] or members
        )
        trending.append(rng.choice(pool))
    return trending


def _weights(
    products: list[DemoProduct],
    by_category: dict[str, list[int]],
    popularity: list[float],
    trending: list[int],
) -> dict[tuple[str, str, bool], list[float]]:
    boosted = set(trending)
    weights: dict[tuple[str, str, bool], list[float]] = {}
    medians = {spec.path: spec.median_price for spec in CATEGORIES}
    for path, members in by_category.items():
        median = medians[path]
        for band, centre in BAND_CENTRES.items():
            base = [popularity[i] * band_fit(products[i].price, median, centre) for i in members]
            # Trending products in their week: about as popular as the category's top seller, and then some.
            peak = max(base)
            hot = [w + (3.0 * peak if i in boosted else 0.0) for w, i in zip(base, members, strict=True)]
            weights[(path, band, False)] = list(accumulate(base))
            weights[(path, band, True)] = list(accumulate(hot))
    return weights


def band_fit(price: float, median: float, centre: float) -> float:
    """How well a price suits a shopper's price band (`centre` is log(price / median)): never zero, so
    every shopper still buys outside their band now and then."""
    distance = math.log(max(price, 0.5) / median) - centre
    return 0.15 + math.exp(-(distance**2) / (2 * 0.35**2))
