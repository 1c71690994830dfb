"""A second demo shop over real products: the Fashion Product Images catalog (`styles.csv` and
`images/ID.jpg`), with the events of simulated shoppers, deterministic for a seed.

The catalog is the folder's products that have a picture: the display name as the title, `master > sub >
article type` as the category, gender, colour, season and usage as attributes, and `/images/ID.jpg` as the
image, read under the folder (the demo sets `training.images.root` to it). The folder has no prices, so each
product gets a stable made-up price from its id and article type. Shoppers shop as the generated demo's do,
more simply: each likes a gender, a few article types and a colour; a session searches or browses one of
them, views a few products (often a similar one next: same article type, often the same colour), adds some
to the cart and sometimes buys; popular products are seen more.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shelfwise.io.demo.catalog import iso
from shelfwise.io.demo.shop import DEMO_END, DemoShop, write_shop

FASHION_CURRENCY = "INR"
LEVELS = ("masterCategory", "subCategory", "articleType")
ATTRIBUTES = {"gender": "gender", "baseColour": "colour", "season": "season", "usage": "usage"}
PRICE_RANGE = (299.0, 4999.0)  # rupees: a stable price per product within it, by article type and id


class FashionFolderError(ValueError):
    """The folder is not laid out like Fashion Product Images."""


def fashion_products(folder: Path, n_products: int | None = None) -> list[dict[str, Any]]:
    """Import-format product rows of the folder's products that have a picture, in styles.csv order (the
    first `n_products` of them when given)."""
    styles = folder / "styles.csv"
    if not styles.is_file():
        raise FashionFolderError(f"{styles} does not exist: the folder needs styles.csv and images/ID.jpg")
    with styles.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("id", "productDisplayName", *LEVELS) if c not in (reader.fieldnames or [])]
        if missing:
            raise FashionFolderError(f"{styles} lacks the column(s) {', '.join(missing)}")
        rows = list(reader)
    products: list[dict[str, Any]] = []
    for row in rows:
        if n_products is not None and len(products) >= n_products:
            break
        product_id = row["id"].strip()
        image = f"/images/{product_id}.jpg"
        if not product_id or not (folder / image.lstrip("/")).is_file():
            continue
        category = " > ".join(row[level].strip() or "Other" for level in LEVELS)
        attributes = {name: row[column].strip() for column, name in ATTRIBUTES.items() if row.get(column)}
        products.append(
            {
                "product_id": product_id,
                "title": row["productDisplayName"].strip() or f"{row['articleType']} {product_id}",
                "category": category,
                "price": _price(product_id, row["articleType"]),
                "currency": FASHION_CURRENCY,
                "attributes": attributes,
                "image_url": image,
            }
        )
    return products


def _price(product_id: str, article_type: str) -> float:
    """A stable price: the article type sets the band, the id the place in it."""
    low, high = PRICE_RANGE
    band = _unit(article_type) * 0.7
    place = _unit(product_id) * 0.3
    return round(low + (high - low) * (band + place)) - 0.01


def _unit(text: str) -> float:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


@dataclass
class _Shopper:
    user_id: str
    gender: str
    article_types: list[str]
    colour: str


def generate_fashion_shop(
    folder: Path,
    seed: int = 7,
    n_users: int = 400,
    days: int = 42,
    end: datetime = DEMO_END,
    n_products: int | None = None,
) -> DemoShop:
    """The folder's catalog (its first `n_products` when given) and the events of `n_users` shoppers over
    the `days` before `end`."""
    products = fashion_products(folder, n_products)
    if not products:
        raise FashionFolderError(f"{folder} holds no product with a picture (images/ID.jpg)")
    rng = random.Random(seed)
    popularity = [rng.paretovariate(1.5) for _ in products]
    by_type: dict[str, list[int]] = defaultdict(list)
    for index, product in enumerate(products):
        by_type[_article(product)].append(index)
    shoppers = [_shopper(rng, f"f{number:04d}", products) for number in range(n_users)]
    start = end - timedelta(days=days)
    events: list[dict[str, Any]] = []
    for shopper in shoppers:
        for session in range(rng.randint(1, 6)):
            moment = start + timedelta(seconds=rng.uniform(0, days * 86400))
            session_id = f"{shopper.user_id}-s{session}"
            events += _session(rng, shopper, session_id, moment, products, by_type, popularity)
    events.sort(key=lambda event: (event["timestamp"], event["user_id"], event["session_id"]))
    return DemoShop(products=products, events=events)


def _article(product: dict[str, Any]) -> str:
    return str(product["category"]).rsplit(" > ", 1)[-1]


def _shopper(rng: random.Random, user_id: str, products: list[dict[str, Any]]) -> _Shopper:
    liked = products[rng.randrange(len(products))]  # tastes follow the catalog's own mix
    attributes = liked["attributes"]
    same_gender = [p for p in products if p["attributes"].get("gender") == attributes.get("gender")]
    types = sorted(
        {_article(p) for p in rng.sample(same_gender, min(3, len(same_gender)))} | {_article(liked)}
    )
    return _Shopper(user_id, attributes.get("gender", ""), types, attributes.get("colour", ""))


def _session(
    rng: random.Random,
    shopper: _Shopper,
    session_id: str,
    moment: datetime,
    products: list[dict[str, Any]],
    by_type: dict[str, list[int]],
    popularity: list[float],
) -> list[dict[str, Any]]:
    article = rng.choice(shopper.article_types)
    members = [
        i for i in by_type[article] if products[i]["attributes"].get("gender") in (shopper.gender, "Unisex")
    ]
    members = members or by_type[article]
    events: list[dict[str, Any]] = []

    def emit(kind: str, index: int | None, query: str | None = None, price: float | None = None) -> None:
        nonlocal moment
        moment += timedelta(seconds=rng.uniform(5, 90))
        events.append(
            {
                "user_id": shopper.user_id,
                "session_id": session_id,
                "event_type": kind,
                "product_id": None if index is None else products[index]["product_id"],
                "query": query,
                "timestamp": iso(moment.astimezone(UTC)),
                "quantity": 1,
                "price": price,
            }
        )

    if rng.random() < 0.5:
        words = [shopper.colour, article] if rng.random() < 0.5 and shopper.colour else [article]
        emit("search", None, query=" ".join(words).lower())
    current = _pick(rng, members, popularity, shopper, products)
    for _ in range(rng.randint(1, 5)):
        emit("view", current)
        if rng.random() < 0.2:
            emit("add_to_cart", current)
            if rng.random() < 0.5:
                emit("purchase", current, price=products[current]["price"])
        current = _pick(rng, members, popularity, shopper, products)
    return events


def _pick(
    rng: random.Random,
    members: list[int],
    popularity: list[float],
    shopper: _Shopper,
    products: list[dict[str, Any]],
) -> int:
    """A product of the session's article type: popular ones and the shopper's colour more often."""
    weights = [
        popularity[i] * (3.0 if products[i]["attributes"].get("colour") == shopper.colour else 1.0)
        for i in members
    ]
    return rng.choices(members, weights=weights)[0]


def write_fashion_shop(directory: Path, folder: Path, **kwargs: Any) -> tuple[Path, Path]:
    """Write the fashion shop's products.csv and events.csv into `directory`; returns their paths."""
    return write_shop(directory, generate_fashion_shop(folder, **kwargs))
