"""A deterministic demo shop: a believable catalog and the events of shoppers with latent tastes.

The same seed gives byte-identical files. Shoppers prefer a few categories, a price band and a couple of
brands; they browse in sessions (search, view, click, add to cart, purchase), look at items similar to the
one they just saw, buy complements (a phone, then a case) in the same or a later session, and rebuy
consumables (coffee, shampoo) at intervals. Popularity is skewed and a few products trend in the last week,
so every recommender has a signal to find and the demo storefront looks alive.

The categories' words and prices are data (`categories.toml`); `catalog` makes the products, `shoppers`
simulates the sessions, `typos` misspells some searches and `shop` puts them together.
"""

from shelfwise.io.demo.catalog import DEMO_CURRENCY, PriceBand
from shelfwise.io.demo.categories import BRAND_PRICE_FACTORS, CATEGORIES, COMPLEMENTS, CategorySpec
from shelfwise.io.demo.shop import (
    DEMO_END,
    EVENT_COLUMNS,
    PRODUCT_COLUMNS,
    DemoShop,
    generate_demo_shop,
    write_demo_shop,
)
from shelfwise.io.demo.shoppers import DEMO_USERS, DemoUser

__all__ = [
    "BRAND_PRICE_FACTORS",
    "CATEGORIES",
    "COMPLEMENTS",
    "DEMO_CURRENCY",
    "DEMO_END",
    "DEMO_USERS",
    "EVENT_COLUMNS",
    "PRODUCT_COLUMNS",
    "CategorySpec",
    "DemoShop",
    "DemoUser",
    "PriceBand",
    "generate_demo_shop",
    "write_demo_shop",
]
