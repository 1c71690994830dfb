"""A deterministic demo shop: a believable catalog and the events of shoppers with latent tastes.

The same seed gives byte-identical files. Shoppers prefer a few categories, a price band and a couple of
brands; they browse in sessions (search, view, click, add to cart, purchase), look at items similar to the
one they just saw, buy complements (a phone, then a case) in the same or a later session, and rebuy
consumables (coffee, shampoo) at intervals. Popularity is skewed and a few products trend in the last week,
so every recommender has a signal to find and the demo storefront looks alive.
"""

from __future__ import annotations

import csv
import json
import math
import random
import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, Literal

PriceBand = Literal["budget", "mid", "premium"]

DEMO_END = datetime(2026, 6, 1, tzinfo=UTC)
DEMO_CURRENCY = "USD"
PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id",
    "title",
    "description",
    "category",
    "brand",
    "price",
    "currency",
    "attributes",
    "image_url",
    "available",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "session_id",
    "event_type",
    "product_id",
    "query",
    "timestamp",
    "quantity",
    "price",
)


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


_EVERYDAY = "Everyday Basics"  # the shop's own budget brand, sold in many categories


def _category(path: str, **fields: Any) -> CategorySpec:
    """A CategorySpec from text lists ("a, b, c"; "noun: a / b; noun: c"), which keep the table readable."""
    values: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "noun_materials":
            pairs = (entry.split(":") for entry in value.split("; "))
            values[key] = {noun.strip(): tuple(m.strip() for m in ms.split(" / ")) for noun, ms in pairs}
        elif isinstance(value, str) and key != "size_label":
            values[key] = tuple(item.strip() for item in value.split(", "))
        else:
            values[key] = value
    return CategorySpec(path, **values)


CATEGORIES: tuple[CategorySpec, ...] = (
    _category(
        "Electronics > Phones",
        nouns="Smartphone, 5G Smartphone, Foldable Phone, Compact Phone, Rugged Phone",
        adjectives="Nova, Edge, Lite, Pro, Ultra, Neo, Max",
        brands="Voltra, Nexon, Pixelle, Orbit",
        median_price=450,
        uses="staying connected, mobile photography, work and play on the go",
        colours="Midnight Black, Silver, Graphite, Ocean Blue, Pearl White, Forest Green",
        sizes="64 GB, 128 GB, 256 GB, 512 GB",
        size_label="storage",
        model_names=True,
    ),
    _category(
        "Electronics > Phone Accessories",
        nouns="Phone Case, Screen Protector, USB-C Charger, Wireless Charger, Charging Cable, Car Mount",
        adjectives="Slim, Essential, Pro, Premium, Compact, Everyday",
        brands="Voltra, Nexon, Ampere, Shieldo, Everyday Basics",
        median_price=19,
        uses="protecting your phone, charging at home and on the road, daily use",
        colours="Midnight Black, Silver, Graphite, Ocean Blue, Pearl White, Forest Green",
        price_sigma=0.45,
        noun_materials=(
            "Phone Case: Silicone / TPU / Leather / Recycled Plastic; "
            "Charging Cable: Braided Nylon / Silicone; "
            "Screen Protector: Tempered Glass / Privacy Glass"
        ),
    ),
    _category(
        "Electronics > Headphones",
        nouns="Wireless Earbuds, Over-Ear Headphones, Noise-Cancelling Headphones, Sports Earphones",
        adjectives="Studio, Bass, Pure, Active, Air, Quiet",
        brands="Sonique, Voltra, Nexon, Everyday Basics",
        median_price=79,
        uses="commuting, focused work, workouts, long flights",
        colours="Midnight Black, Silver, Graphite, Ocean Blue, Pearl White, Forest Green",
        price_sigma=0.5,
        model_names=True,
    ),
    _category(
        "Electronics > Cameras",
        nouns="Mirrorless Camera, Compact Camera, Action Camera, Instant Camera, Vlogging Camera",
        adjectives="Alpha, Vision, Snap, Pro, Go, Classic",
        brands="Lumora, Optix, Nexon",
        median_price=520,
        uses="travel photography, vlogging, family moments, outdoor adventures",
        colours="Black, Silver, Mint, Sand",
        price_sigma=0.55,
        model_names=True,
    ),
    _category(
        "Electronics > Camera Accessories",
        nouns="Memory Card, Camera Bag, Tripod, Lens Cleaning Kit, Spare Battery, Camera Strap",
        adjectives="Pro, Travel, Compact, Extreme, Everyday",
        brands="Lumora, Optix, Ampere, Trekline, Everyday Basics",
        median_price=28,
        uses="keeping your camera ready, shooting on the move, protecting your gear",
        sizes="64 GB, 128 GB, 256 GB",
        size_label="capacity",
        price_sigma=0.5,
        noun_materials=(
            "Camera Bag: Canvas / Nylon / Leather; Camera Strap: Leather / Nylon / Cotton; "
            "Tripod: Aluminium / Carbon Fibre"
        ),
        sized_nouns="Memory Card",
    ),
    _category(
        "Electronics > Laptops",
        nouns="Laptop, Ultrabook, Gaming Laptop, 2-in-1 Laptop, Chromebook",
        adjectives="Air, Pro, Slim, Book, Studio, Flex",
        brands="Nexon, Orbit, Voltra, Pixelle",
        median_price=880,
        uses="work and study, gaming, creative work, everyday browsing",
        colours="Space Grey, Silver, Black, Blue",
        sizes='13", 14", 15.6", 16"',
        size_label="screen",
        price_sigma=0.45,
        model_names=True,
    ),
    _category(
        "Electronics > Computer Accessories",
        nouns="Wireless Mouse, Mechanical Keyboard, Laptop Sleeve, USB-C Hub, Monitor Stand, Webcam",
        adjectives="Compact, Pro, Slim, Essential, Premium, Travel",
        brands="Keyforge, Ampere, Nexon, Orbit, Everyday Basics",
        median_price=35,
        uses="a tidy desk, working from home, long typing sessions",
        colours="Black, White, Grey, Sage",
        price_sigma=0.5,
        noun_materials="Laptop Sleeve: Felt / Neoprene / Leather; Monitor Stand: Aluminium / Oak / Bamboo",
    ),
    _category(
        "Kitchen > Cookware",
        nouns="Frying Pan, Saucepan, Dutch Oven, Wok, Stock Pot, Skillet, Grill Pan, Saute Pan",
        adjectives="Non-Stick, Classic, Professional, Induction-Ready, Heavy-Duty, Everyday",
        brands="HearthCraft, Ferro & Co, Cucina Viva, Everyday Basics",
        median_price=55,
        uses="everyday cooking, searing and roasting, slow-cooked stews, weeknight dinners",
        colours="Graphite, Cherry Red, Cream, Black, Copper",
        materials="Cast Iron, Stainless Steel, Aluminium, Carbon Steel, Enamelled Cast Iron",
        sizes="20 cm, 24 cm, 28 cm, 32 cm",
        price_sigma=0.45,
    ),
    _category(
        "Kitchen > Utensils",
        nouns="Spatula, Ladle, Tongs, Whisk, Utensil Set, Chef's Knife, Cutting Board, Peeler",
        adjectives="Precision, Heat-Resistant, Classic, Professional, Everyday",
        brands="HearthCraft, Cucina Viva, Ferro & Co, Everyday Basics",
        median_price=16,
        uses="everyday cooking, non-stick pans, prepping vegetables, baking",
        colours="Black, Sage, Grey, Red",
        price_sigma=0.5,
        noun_materials=(
            "Spatula: Silicone / Stainless Steel / Beech Wood; Ladle: Silicone / Stainless Steel; "
            "Tongs: Stainless Steel / Silicone; Whisk: Stainless Steel / Silicone; "
            "Utensil Set: Silicone / Bamboo / Olive Wood; "
            "Cutting Board: Bamboo / Olive Wood / Beech Wood; "
            "Chef's Knife: Stainless Steel / Carbon Steel"
        ),
    ),
    _category(
        "Kitchen > Coffee",
        nouns="Ground Coffee, Whole Bean Coffee, Espresso Pods, Cold Brew Coffee, Decaf Coffee",
        adjectives="Dark Roast, Medium Roast, Single-Origin, House Blend, Organic",
        brands="Bean Republic, Morning Ritual, Alto Roasters, Everyday Basics",
        median_price=13,
        uses="your morning cup, espresso machines, filter brewing",
        sizes="250 g, 500 g, 1 kg",
        size_label="weight",
        price_sigma=0.3,
        repurchase_days=12,
    ),
    _category(
        "Kitchen > Coffee Makers",
        nouns="Espresso Machine, French Press, Pour-Over Dripper, Drip Coffee Maker, Milk Frother, Grinder",
        adjectives="Barista, Compact, Classic, Deluxe, Essential",
        brands="Brewmaster, Morning Ritual, Cucina Viva, Everyday Basics",
        median_price=85,
        uses="cafe-style coffee at home, slow mornings, small kitchens",
        colours="Stainless Steel, Black, Cream, Red",
        price_sigma=0.6,
        noun_materials="French Press: Glass / Stainless Steel; Pour-Over Dripper: Ceramic / Glass",
    ),
    _category(
        "Home > Bedding",
        nouns="Duvet Cover, Sheet Set, Pillow, Weighted Blanket, Mattress Protector, Throw Blanket",
        adjectives="Washed, Cooling, Organic, Soft-Touch, Hotel-Quality, Cosy",
        brands="Lull & Linen, Nordhem, Cozynest, Everyday Basics",
        median_price=48,
        uses="a better night's sleep, guest rooms, warm winter nights, hot sleepers",
        colours="Sage, Charcoal, Ivory, Terracotta, Navy, Oat, Dusty Rose, Slate Grey",
        materials="Linen, Cotton Percale, Bamboo, Sateen Cotton, Wool",
        sizes="Single, Double, Queen, King",
        price_sigma=0.4,
    ),
    _category(
        "Home > Lighting",
        nouns="Table Lamp, Floor Lamp, Pendant Light, Desk Lamp, LED Bulb Pack, String Lights",
        adjectives="Dimmable, Modern, Vintage, Minimalist, Warm-White, Smart",
        brands="Lumen & Oak, Nordhem, Loftwell, Everyday Basics",
        median_price=45,
        uses="reading corners, living rooms, home offices, cosy evenings",
        colours="Brass, Matte Black, White, Smoked Glass, Natural",
        price_sigma=0.55,
        noun_materials=(
            "Table Lamp: Brass / Ceramic / Rattan; Floor Lamp: Brass / Steel / Rattan; "
            "Pendant Light: Rattan / Glass / Linen; Desk Lamp: Steel / Brass"
        ),
    ),
    _category(
        "Home > Decor",
        nouns="Vase, Picture Frame, Wall Mirror, Scented Candle, Cushion Cover, Wall Clock, Throw Pillow",
        adjectives="Handmade, Modern, Rustic, Scandi, Boho, Minimalist",
        brands="Nordhem, Lumen & Oak, Cozynest, Everyday Basics",
        median_price=24,
        uses="living rooms, bedrooms, gifting, a finishing touch",
        colours="Sage, Charcoal, Ivory, Terracotta, Navy, Oat, Dusty Rose, Slate Grey",
        price_sigma=0.5,
        noun_materials=(
            "Vase: Ceramic / Glass / Stoneware; Picture Frame: Oak / Brass; Wall Mirror: Oak / Brass; "
            "Cushion Cover: Velvet / Linen / Jute; Throw Pillow: Velvet / Linen; "
            "Wall Clock: Oak / Brass; Scented Candle: Soy Wax / Beeswax"
        ),
    ),
    _category(
        "Home > Bath",
        nouns="Bath Towel Set, Bath Mat, Shower Curtain, Soap Dispenser, Bathrobe, Hand Towel",
        adjectives="Quick-Dry, Plush, Organic, Spa, Waffle",
        brands="Lull & Linen, Cozynest, Everyday Basics",
        median_price=26,
        uses="everyday bathing, guest bathrooms, a spa feeling at home",
        colours="Sage, Charcoal, Ivory, Terracotta, Navy, Oat, Dusty Rose, Slate Grey",
        price_sigma=0.45,
        noun_materials=(
            "Bath Towel Set: Cotton / Bamboo; Bath Mat: Cotton / Bamboo; Bathrobe: Cotton / Linen; "
            "Hand Towel: Cotton / Linen; Soap Dispenser: Stoneware / Glass"
        ),
    ),
    _category(
        "Furniture > Sofas",
        nouns="Sofa, Loveseat, Sectional Sofa, Sofa Bed, Armchair, Chaise Lounge",
        adjectives="Mid-Century, Modular, Deep-Seat, Compact, Classic, Low-Profile",
        brands="Nordhem, Oakline, Loftwell",
        median_price=690,
        uses="family living rooms, small apartments, movie nights",
        colours="Sage, Charcoal, Ivory, Terracotta, Navy, Oat, Dusty Rose, Slate Grey",
        materials="Boucle, Velvet, Linen Blend, Leather, Performance Fabric",
        sizes="2-Seater, 3-Seater, 4-Seater",
        price_sigma=0.4,
    ),
    _category(
        "Furniture > Tables",
        nouns="Coffee Table, Dining Table, Side Table, Desk, Console Table, Nesting Tables",
        adjectives="Round, Extendable, Solid, Mid-Century, Industrial, Minimalist",
        brands="Oakline, Nordhem, Loftwell, Everyday Basics",
        median_price=240,
        uses="dining rooms, home offices, living rooms, entryways",
        materials="Oak, Walnut, Marble, Pine, Steel and Glass",
        price_sigma=0.55,
    ),
    _category(
        "Furniture > Storage",
        nouns="Bookshelf, Shoe Rack, Storage Box Set, Chest of Drawers, Wardrobe, Wall Shelf",
        adjectives="Modular, Slim, Stackable, Classic, Industrial",
        brands="Nordhem, Loftwell, Oakline, Everyday Basics",
        median_price=120,
        uses="small spaces, hallways, bedrooms, tidy living rooms",
        colours="White, Natural, Black, Walnut",
        materials="Oak, Pine, Steel, Rattan, Bamboo",
        price_sigma=0.6,
    ),
    _category(
        "Sports > Running",
        nouns="Running Shoes, Trail Running Shoes, Racing Flats, Stability Running Shoes",
        adjectives="Cushioned, Lightweight, Responsive, Waterproof, Neutral",
        brands="Stride, Trekline, Kinetiq",
        median_price=110,
        uses="road running, marathon training, trail runs, daily miles",
        colours="Black, Volt Yellow, Royal Blue, Coral, Grey, White, Red",
        sizes="Men's, Women's",
        size_label="fit",
        price_sigma=0.3,
    ),
    _category(
        "Sports > Running Accessories",
        nouns="Running Socks, Hydration Belt, Running Cap, Phone Armband, Reflective Vest, Water Bottle",
        adjectives="Lightweight, Race, Essential, Pro, Everyday",
        brands="Stride, Trekline, Kinetiq, Everyday Basics",
        median_price=15,
        uses="long runs, early morning runs, race day, hot weather",
        colours="Black, Volt Yellow, Royal Blue, Coral, Grey, White, Red",
        price_sigma=0.45,
        noun_materials=(
            "Running Socks: Merino Wool / Recycled Polyester; Running Cap: Recycled Polyester; "
            "Water Bottle: Stainless Steel / BPA-Free Plastic"
        ),
    ),
    _category(
        "Sports > Yoga",
        nouns="Yoga Mat, Yoga Block, Yoga Strap, Meditation Cushion, Yoga Towel, Yoga Wheel",
        adjectives="Non-Slip, Eco, Extra-Thick, Travel, Grippy",
        brands="Zenflow, Kinetiq, Everyday Basics",
        median_price=28,
        uses="daily practice, hot yoga, stretching at home, meditation",
        colours="Lavender, Sage, Black, Sand, Ocean Blue",
        price_sigma=0.45,
        noun_materials=(
            "Yoga Mat: Natural Rubber / Cork / TPE; Yoga Block: Cork / Foam; Yoga Strap: Cotton; "
            "Meditation Cushion: Cotton / Buckwheat; Yoga Towel: Microfibre"
        ),
    ),
    _category(
        "Sports > Cycling",
        nouns="Bike Helmet, Bike Light Set, Cycling Gloves, Bike Lock, Saddle Bag, Bike Pump",
        adjectives="Aero, Commuter, Lightweight, Heavy-Duty, Reflective",
        brands="Velo Norte, Trekline, Everyday Basics",
        median_price=38,
        uses="city commuting, weekend rides, night riding",
        colours="Black, Volt Yellow, Royal Blue, Coral, Grey, White, Red",
        price_sigma=0.5,
    ),
    _category(
        "Beauty > Skincare",
        nouns="Face Moisturizer, Gentle Cleanser, Vitamin C Serum, Sunscreen SPF 50, Eye Cream, Toner",
        adjectives="Hydrating, Fragrance-Free, Brightening, Soothing, Daily, Overnight",
        brands="Lumiere, Purelle, Verdant Lab, Everyday Basics",
        median_price=22,
        uses="dry skin, sensitive skin, morning routines, every skin type",
        sizes="30 ml, 50 ml, 100 ml",
        size_label="volume",
        price_sigma=0.45,
        repurchase_days=28,
    ),
    _category(
        "Beauty > Hair Care",
        nouns="Shampoo, Conditioner, Hair Mask, Hair Oil, Dry Shampoo, Leave-In Spray",
        adjectives="Repairing, Volumising, Curl-Defining, Sulfate-Free, Moisture",
        brands="Purelle, Lumiere, Verdant Lab, Everyday Basics",
        median_price=12,
        uses="damaged hair, fine hair, curly hair, everyday washing",
        sizes="250 ml, 400 ml, 1 L",
        size_label="volume",
        repurchase_days=24,
    ),
    _category(
        "Beauty > Makeup",
        nouns="Lipstick, Mascara, Foundation, Eyeliner, Blush, Concealer",
        adjectives="Long-Wear, Matte, Dewy, Waterproof, Buildable",
        brands="Glossique, Lumiere, Purelle",
        median_price=18,
        uses="everyday looks, evenings out, sensitive eyes",
        colours="Nude, Berry, Classic Red, Rose, Espresso, Ivory",
        price_sigma=0.4,
    ),
    _category(
        "Beauty > Makeup Tools",
        nouns="Makeup Brush Set, Beauty Sponge, Makeup Bag, Eyelash Curler, Brush Cleaner",
        adjectives="Vegan, Travel, Professional, Soft-Bristle",
        brands="Glossique, Everyday Basics",
        median_price=14,
        uses="flawless application, travel, everyday makeup",
        colours="Rose Gold, Black, Blush Pink",
        price_sigma=0.4,
    ),
    _category(
        "Toys > Puzzles",
        nouns="Jigsaw Puzzle, 3D Puzzle, Brain Teaser Set, Puzzle Mat, Floor Puzzle",
        adjectives="Landscape, Animal, World Map, Vintage Poster, Glow-in-the-Dark",
        brands="Puzzlewood, Brainy Bear, Everyday Basics",
        median_price=19,
        uses="family evenings, rainy afternoons, gifting",
        sizes="100 Pieces, 500 Pieces, 1000 Pieces, 2000 Pieces",
        size_label="pieces",
        price_sigma=0.4,
    ),
    _category(
        "Toys > Building Sets",
        nouns="Building Set, Construction Kit, Marble Run, Magnetic Tiles, Robot Kit",
        adjectives="Creative, STEM, Starter, Deluxe, Space",
        brands="Blocktopia, Brainy Bear, Everyday Basics",
        median_price=39,
        uses="young builders, STEM learning, gifting",
        sizes="Ages 3+, Ages 6+, Ages 8+, Ages 12+",
        size_label="age",
        price_sigma=0.55,
    ),
    _category(
        "Pets > Dog Food",
        nouns="Dry Dog Food, Wet Dog Food, Grain-Free Dog Food, Puppy Food, Dog Treats",
        adjectives="Chicken, Salmon, Lamb, Turkey, Beef",
        brands="Happy Paws, Wildtail, Everyday Basics",
        median_price=32,
        uses="adult dogs, puppies, sensitive stomachs, active dogs",
        sizes="2 kg, 6 kg, 12 kg",
        size_label="weight",
        price_sigma=0.5,
        repurchase_days=20,
    ),
    _category(
        "Pets > Dog Toys",
        nouns="Chew Toy, Rope Toy, Fetch Ball Set, Puzzle Feeder, Squeaky Plush Toy",
        adjectives="Durable, Interactive, Squeaky, Floating",
        brands="Happy Paws, Wildtail, Everyday Basics",
        median_price=12,
        uses="heavy chewers, playtime, keeping dogs busy",
        colours="Orange, Blue, Green, Red",
        price_sigma=0.4,
        noun_materials=(
            "Chew Toy: Natural Rubber / Nylon; Rope Toy: Cotton Rope; Fetch Ball Set: Natural Rubber"
        ),
    ),
)

# After buying from the key category, shoppers often buy from these: the cross-category signal of
# "bought together". Complements of the same brand are favoured (a Voltra phone, then a Voltra case).
COMPLEMENTS: dict[str, tuple[str, ...]] = {
    "Electronics > Phones": ("Electronics > Phone Accessories", "Electronics > Headphones"),
    "Electronics > Cameras": ("Electronics > Camera Accessories",),
    "Electronics > Laptops": ("Electronics > Computer Accessories",),
    "Kitchen > Cookware": ("Kitchen > Utensils",),
    "Kitchen > Coffee Makers": ("Kitchen > Coffee",),
    "Home > Bedding": ("Home > Bath",),
    "Furniture > Sofas": ("Home > Decor",),
    "Furniture > Tables": ("Home > Lighting",),
    "Sports > Running": ("Sports > Running Accessories",),
    "Beauty > Makeup": ("Beauty > Makeup Tools",),
    "Pets > Dog Food": ("Pets > Dog Toys",),
}

# How a brand's prices sit against its category's median.
BRAND_PRICE_FACTORS: dict[str, float] = {
    "Voltra": 1.3,
    "Pixelle": 1.15,
    "Orbit": 0.75,
    "Sonique": 1.25,
    "Lumora": 1.2,
    "Shieldo": 0.85,
    "Ferro & Co": 1.35,
    "Cucina Viva": 0.9,
    "Alto Roasters": 1.25,
    "Lull & Linen": 1.3,
    "Cozynest": 0.8,
    "Oakline": 1.25,
    "Kinetiq": 1.2,
    "Lumiere": 1.35,
    "Verdant Lab": 1.1,
    "Wildtail": 1.2,
    _EVERYDAY: 0.6,
}

_BAND_CENTRES: dict[str, float] = {"budget": -0.45, "mid": 0.0, "premium": 0.45}  # log(price / median)


@dataclass(frozen=True)
class DemoUser:
    """A shopper's latent tastes: the ground truth a good recommender should recover."""

    user_id: str
    categories: tuple[str, ...]
    price_band: PriceBand
    brands: tuple[str, ...]
    description: str = ""
    activity: float = 1.0  # relative number of sessions


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(
        "alice",
        ("Kitchen > Cookware", "Kitchen > Utensils", "Home > Bedding"),
        "mid",
        ("HearthCraft", "Lull & Linen"),
        "Home cook who also likes a well-made bed; mid-range prices.",
        2.5,
    ),
    DemoUser(
        "bob",
        ("Electronics > Phones", "Electronics > Headphones", "Electronics > Laptops"),
        "premium",
        ("Voltra", "Sonique"),
        "Gadget lover who buys premium electronics and their accessories.",
        2.5,
    ),
    DemoUser(
        "carol",
        ("Sports > Running", "Sports > Running Accessories", "Sports > Yoga"),
        "mid",
        ("Stride", "Zenflow"),
        "Runner training for a marathon, with yoga on rest days.",
        2.5,
    ),
    DemoUser(
        "dan",
        ("Furniture > Sofas", "Furniture > Tables", "Home > Decor"),
        "budget",
        ("Nordhem", _EVERYDAY),
        "Furnishing a first flat on a budget.",
        2.0,
    ),
    DemoUser(
        "erin",
        ("Beauty > Skincare", "Beauty > Hair Care", "Beauty > Makeup"),
        "premium",
        ("Lumiere", "Glossique"),
        "Skincare regular who rebuys her favourites.",
        2.5,
    ),
    DemoUser(
        "frank",
        ("Kitchen > Coffee", "Kitchen > Coffee Makers"),
        "mid",
        ("Alto Roasters", "Brewmaster"),
        "Coffee enthusiast: beans every couple of weeks, gear now and then.",
        2.5,
    ),
    DemoUser(
        "grace",
        ("Toys > Puzzles", "Toys > Building Sets", "Pets > Dog Toys"),
        "budget",
        ("Puzzlewood", "Happy Paws"),
        "Parent of two kids and a dog, shopping for play.",
        2.0,
    ),
)


@dataclass
class DemoShop:
    """Import-format rows: `products` (attributes as a dict) and `events`, plus the ground truth behind
    them: the users' tastes and the products made to trend."""

    products: list[dict[str, Any]]
    events: list[dict[str, Any]]
    users: list[DemoUser] = field(default_factory=list)
    trending: list[str] = field(default_factory=list)  # product ids boosted in the last week


def generate_demo_shop(
    seed: int = 7,
    n_products: int = 5000,
    n_users: int = 1500,
    days: int = 42,
    end: datetime = DEMO_END,
) -> DemoShop:
    """A catalog of `n_products` and the events of `n_users` shoppers over the `days` before `end`."""
    if n_products < len(CATEGORIES):
        raise ValueError(
            f"n_products must be at least {len(CATEGORIES)} (one per category), got {n_products}"
        )
    if n_users < 1 or days < 1:
        raise ValueError(f"n_users and days must be positive, got {n_users} and {days}")
    rng = random.Random(seed)
    end = end.astimezone(UTC) if end.tzinfo else end.replace(tzinfo=UTC)
    catalog = _Catalog.build(rng, n_products, end, days)
    users = _make_users(rng, n_users)
    simulator = _Simulator(rng, catalog, end, days)
    for user in users:
        simulator.simulate_user(user)
    for _ in range(max(1, n_users // 15)):
        simulator.simulate_guest(_random_user(rng, "guest"))
    trending = [catalog.products[index].product_id for index in catalog.trending]
    return DemoShop(products=catalog.rows(), events=simulator.rows(), users=users, trending=trending)


def write_demo_shop(directory: Path | str, **kwargs: Any) -> tuple[Path, Path]:
    """Write products.csv (attributes as a JSON column) and events.csv; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    shop = generate_demo_shop(**kwargs)
    products_path = directory / "products.csv"
    events_path = directory / "events.csv"
    _write_csv(products_path, PRODUCT_COLUMNS, shop.products)
    _write_csv(events_path, EVENT_COLUMNS, shop.events)
    return products_path, events_path


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(_csv_cell(row.get(column)) for column in columns)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the catalog ----------------------------------------------------------------------------------------


@dataclass
class _Product:
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
            "created_at": _iso(self.created),
            "updated_at": _iso(self.updated),
        }


@dataclass
class _Catalog:
    products: list[_Product]
    by_category: dict[str, list[int]]
    by_noun: dict[tuple[str, str], list[int]]
    by_brand: dict[tuple[str, str], list[int]]
    # Cumulative sampling weights per (category, price band, trending week?), over by_category's order.
    weights: dict[tuple[str, str, bool], list[float]]
    trending: list[int]

    @classmethod
    def build(cls, rng: random.Random, n_products: int, end: datetime, days: int) -> _Catalog:
        counts = _category_counts(rng, n_products)
        titles: set[str] = set()
        products: list[_Product] = []
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
) -> _Product:
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
    factor = BRAND_PRICE_FACTORS.get(brand, 1.0) * (1.25 if material in _PREMIUM_MATERIALS else 1.0)
    price = _shop_price(spec.median_price * factor * math.exp(rng.gauss(0.0, spec.price_sigma)))
    created = _created_at(rng, end, days)
    updated = created if rng.random() < 0.5 else created + (end - created) * rng.random()
    return _Product(
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
_PREMIUM_MATERIALS = frozenset(
    {"Cast Iron", "Enamelled Cast Iron", "Walnut", "Marble", "Leather", "Merino Wool"}
)


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
    rng: random.Random, products: list[_Product], by_category: dict[str, list[int]], end: datetime
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
    products: list[_Product],
    by_category: dict[str, list[int]],
    popularity: list[float],
    trending: list[int],
) -> dict[tuple[str, str, bool], list[float]]:
    boosted = set(trending)
    weights: dict[tuple[str, str, bool], list[float]] = {}
    medians = {spec.path: spec.median_price for spec in CATEGORIES}
    for path, members in by_category.items():
        median = medians[path]
        for band, centre in _BAND_CENTRES.items():
            base = [popularity[i] * _band_fit(products[i].price, median, centre) for i in members]
            # Trending products in their week: about as popular as the category's top seller, and then some.
            peak = max(base)
            hot = [w + (3.0 * peak if i in boosted else 0.0) for w, i in zip(base, members, strict=True)]
            weights[(path, band, False)] = list(accumulate(base))
            weights[(path, band, True)] = list(accumulate(hot))
    return weights


def _band_fit(price: float, median: float, centre: float) -> float:
    distance = math.log(max(price, 0.5) / median) - centre
    return 0.15 + math.exp(-(distance**2) / (2 * 0.35**2))


# --- the shoppers ---------------------------------------------------------------------------------------


def _make_users(rng: random.Random, n_users: int) -> list[DemoUser]:
    named = list(DEMO_USERS[:n_users])
    return named + [_random_user(rng, f"u{number:05d}") for number in range(1, n_users - len(named) + 1)]


def _departments() -> dict[str, list[str]]:
    departments: dict[str, list[str]] = {}
    for spec in CATEGORIES:
        departments.setdefault(spec.path.split(" > ")[0], []).append(spec.path)
    return departments


_DEPARTMENTS = _departments()


def _random_user(rng: random.Random, user_id: str) -> DemoUser:
    first = rng.choice(CATEGORIES).path
    categories = [first]
    for _ in range(rng.choice((1, 2, 2))):
        department = _DEPARTMENTS[first.split(" > ")[0]]
        pool = department if rng.random() < 0.5 else [spec.path for spec in CATEGORIES]
        choice = rng.choice(pool)
        if choice not in categories:
            categories.append(choice)
    band: PriceBand = rng.choices(("budget", "mid", "premium"), weights=(0.35, 0.45, 0.2))[0]
    brand_pool = sorted({brand for spec in CATEGORIES if spec.path in categories for brand in spec.brands})
    brands = tuple(rng.sample(brand_pool, k=min(2, len(brand_pool))))
    return DemoUser(user_id, tuple(categories), band, brands, activity=math.exp(rng.gauss(0.0, 0.7)))


@dataclass
class _Session:
    user: DemoUser
    user_id: str | None
    session_id: str
    clock: float  # epoch seconds of the last event
    owned: set[int]  # the shopper's durable purchases so far
    cart: list[tuple[int, int]] = field(default_factory=list)  # (product index, quantity)
    complemented: list[str] = field(default_factory=list)  # categories whose complement was sought already
    sure: bool = False  # came to rebuy something: almost certain to check out


@dataclass
class _Memory:
    """What a shopper carries between sessions."""

    complements: list[tuple[str, str, float]] = field(default_factory=list)  # (category, brand, due time)
    consumables: dict[int, float] = field(default_factory=dict)  # product index -> due time
    owned: set[int] = field(default_factory=set)  # durable products bought: not bought twice


class _Simulator:
    def __init__(self, rng: random.Random, catalog: _Catalog, end: datetime, days: int) -> None:
        self.rng = rng
        self.catalog = catalog
        self.end = end.timestamp()
        self.start = (end - timedelta(days=days)).timestamp()
        self.trend_from = (end - timedelta(days=7)).timestamp()
        self.events: list[
            tuple[float, int, str | None, str, str, str | None, str | None, int, float | None]
        ] = []
        self.sessions = 0
        self.created = [product.created.timestamp() for product in catalog.products]

    # - per shopper -

    def simulate_user(self, user: DemoUser) -> None:
        memory = _Memory()
        if user in DEMO_USERS:
            n_sessions = round(8 * user.activity)  # the storefront's named shoppers always have a history
        else:
            n_sessions = max(1, round(self.rng.lognormvariate(math.log(10.0), 0.5) * user.activity))
        for start in sorted(self._session_start() for _ in range(n_sessions)):
            self._run_session(self._open(user, user.user_id, start, memory), memory)

    def simulate_guest(self, user: DemoUser) -> None:
        memory = _Memory()
        self._run_session(self._open(user, None, self._session_start(), memory), memory)

    def _open(self, user: DemoUser, user_id: str | None, start: float, memory: _Memory) -> _Session:
        self.sessions += 1
        return _Session(user, user_id, f"s{self.sessions:06d}", start, memory.owned)

    def _session_start(self) -> float:
        day = self.rng.uniform(self.start, self.end - 6 * 3600)
        # Evenings are busier than nights: move the start towards a typical shopping hour of that day.
        midnight = day - day % 86400
        hour = self.rng.choices(range(24), weights=_HOURLY_TRAFFIC)[0]
        start = midnight + hour * 3600 + self.rng.uniform(0, 3600)
        return min(max(start, self.start), self.end - 3 * 3600)

    def _run_session(self, session: _Session, memory: _Memory) -> None:
        now = session.clock
        due_refill = [index for index, due in memory.consumables.items() if due <= now]
        due_complements = [item for item in memory.complements if item[2] <= now]
        if due_refill and self.rng.random() < 0.8:
            self._refill(session, due_refill[0], memory)
        elif due_complements and self.rng.random() < 0.6:
            category, brand, _ = due_complements[0]
            memory.complements.remove(due_complements[0])
            self._browse(session, category, memory, brand=brand, keen=True)
        else:
            self._browse(session, self._pick_category(session.user), memory)
        self._checkout(session, memory)

    def _pick_category(self, user: DemoUser) -> str:
        if self.rng.random() < 0.12:
            return self.rng.choice(CATEGORIES).path
        weights = [2.0] + [1.0] * (len(user.categories) - 1)
        return self.rng.choices(user.categories, weights=weights)[0]

    # - within a session -

    def _browse(
        self, session: _Session, category: str, memory: _Memory, brand: str | None = None, keen: bool = False
    ) -> None:
        n_views = min(25, 1 + int(self.rng.expovariate(1 / 3.5)))
        current = self._sample(category, session, brand=brand)
        searched = self.rng.random() < 0.1
        if searched:
            current = self._search(session, current)
        for step in range(n_views):
            if step > 0:
                current = self._next_item(session, current)
            # The first view after a search follows the click on the result, so it has no click of its own.
            self._view(session, current, clicked=not (searched and step == 0) and self.rng.random() < 0.3)
            if self._wants(session, current, keen):
                self._add_to_cart(session, current)
                if self._complement_now(session, current):
                    return

    def _search(self, session: _Session, target: int) -> int:
        """A search for words of the wanted product, then a click on a result: the target or a similar one."""
        self._emit(session, "search", None, query=self._query(self.catalog.products[target]), gap=(5, 20))
        if self.rng.random() < 0.3:
            target = self._similar(target, session) or target
        self._emit(session, "click", target, gap=(3, 25))
        return target

    def _query(self, product: _Product) -> str:
        choice = self.rng.random()
        noun = product.noun.lower()
        if choice < 0.35:
            words = noun
        elif choice < 0.55:
            words = f"{product.brand.lower()} {noun}"
        elif choice < 0.7 and product.colour:
            words = f"{product.colour.split()[-1].lower()} {noun}"
        elif choice < 0.85 and product.material:
            words = f"{product.material.lower()} {noun}"
        elif product.size:
            words = f"{noun} {product.size.lower()}"
        else:
            words = f"{product.adjective.lower()} {noun}"
        return _misspell(self.rng, words) if self.rng.random() < 0.15 else words

    def _view(self, session: _Session, index: int, clicked: bool) -> None:
        if clicked:
            self._emit(session, "click", index, gap=(5, 40))
        self._emit(session, "view", index, gap=(2, 8) if clicked else (10, 120))

    def _wants(self, session: _Session, index: int, keen: bool) -> bool:
        product = self.catalog.products[index]
        in_cart = any(carted == index for carted, _ in session.cart)
        if not product.available or index in session.owned or in_cart:
            return False
        user = session.user
        spec = product.spec
        chance = 0.055
        chance *= 1.8 if spec.path in user.categories else 0.7
        chance *= 1.7 if product.brand in user.brands else 1.0
        chance *= _band_fit(product.price, spec.median_price, _BAND_CENTRES[user.price_band])
        chance *= 4.0 if keen else 1.0
        return self.rng.random() < min(chance, 0.7)

    def _add_to_cart(self, session: _Session, index: int) -> None:
        product = self.catalog.products[index]
        quantity = 1
        if product.spec.repurchase_days and self.rng.random() < 0.25:
            quantity = self.rng.choice((2, 2, 3))
        session.cart.append((index, quantity))
        self._emit(session, "add_to_cart", index, quantity=quantity, gap=(10, 60))

    def _complement_now(self, session: _Session, index: int) -> bool:
        """Having put a product with complements in the cart, often look for one right away."""
        product = self.catalog.products[index]
        targets = COMPLEMENTS.get(product.spec.path)
        if not targets or self.rng.random() >= 0.35:
            return False
        session.complemented.append(product.spec.path)
        self._browse_complement(session, self.rng.choice(targets), product.brand)
        return True

    def _complement_later(self, session: _Session, index: int, memory: _Memory) -> None:
        """Having bought a product with complements, often come back for one within a week."""
        product = self.catalog.products[index]
        targets = COMPLEMENTS.get(product.spec.path)
        if not targets or product.spec.path in session.complemented or self.rng.random() >= 0.5:
            return
        due = session.clock + self.rng.uniform(0.5, 7.0) * 86400
        memory.complements.append((self.rng.choice(targets), product.brand, due))

    def _browse_complement(self, session: _Session, category: str, brand: str) -> None:
        current = self._sample(category, session, brand=brand)
        for step in range(1 + int(self.rng.expovariate(1 / 2.0))):
            if step > 0:
                current = self._next_item(session, current)
            self._view(session, current, clicked=self.rng.random() < 0.5)
            if self._wants(session, current, keen=True):
                self._add_to_cart(session, current)
                return

    def _refill(self, session: _Session, index: int, memory: _Memory) -> None:
        """A consumable running out: mostly the same product again, straight to the cart."""
        del memory.consumables[index]
        session.sure = True
        product = self.catalog.products[index]
        if not product.available or self.rng.random() < 0.15:
            self._browse(session, product.spec.path, memory, brand=product.brand, keen=True)
            return
        self._view(session, index, clicked=self.rng.random() < 0.5)
        self._add_to_cart(session, index)

    def _checkout(self, session: _Session, memory: _Memory) -> None:
        if not session.cart or self.rng.random() >= (0.95 if session.sure else 0.72):
            return
        self._advance(session, (30, 240))
        for index, quantity in session.cart:
            product = self.catalog.products[index]
            self._emit(session, "purchase", index, quantity=quantity, price=product.price, gap=(0, 2))
            interval = product.spec.repurchase_days
            if interval and session.user_id is not None:
                memory.consumables[index] = session.clock + interval * self.rng.uniform(0.8, 1.25) * 86400
            elif not interval:
                session.owned.add(index)
            if session.user_id is not None:
                self._complement_later(session, index, memory)
        session.cart.clear()

    # - choosing products -

    def _sample(self, category: str, session: _Session, brand: str | None = None) -> int:
        user = session.user
        members = self.catalog.by_category[category]
        brands = [brand] if brand else [b for b in user.brands if (category, b) in self.catalog.by_brand]
        if brands and self.rng.random() < (0.5 if brand else 0.3):
            pool = self.catalog.by_brand.get((category, self.rng.choice(brands)))
            if pool:
                return self._released(self.rng.choice(pool), members, session)
        weights = self.catalog.weights[(category, user.price_band, session.clock >= self.trend_from)]
        for _ in range(6):
            index = members[bisect_right(weights, self.rng.random() * weights[-1])]
            if self.created[index] <= session.clock:
                return index
        return self._released(index, members, session)

    def _released(self, index: int, members: list[int], session: _Session) -> int:
        """The product, or the oldest one of its category if it had not come out yet at this time."""
        if self.created[index] <= session.clock:
            return index
        return min(members, key=lambda i: self.created[i])

    def _next_item(self, session: _Session, current: int) -> int:
        """Shoppers look at things like the one they just saw: same kind or brand, same category."""
        draw = self.rng.random()
        if draw < 0.6:
            similar = self._similar(current, session)
            if similar is not None:
                return similar
        if draw < 0.85:
            return self._sample(self.catalog.products[current].spec.path, session)
        return self._sample(self._pick_category(session.user), session)

    def _similar(self, current: int, session: _Session) -> int | None:
        product = self.catalog.products[current]
        key = (product.spec.path, product.noun if self.rng.random() < 0.7 else product.brand)
        pool = self.catalog.by_noun.get(key) or self.catalog.by_brand.get(key) or []
        candidates = [i for i in self.rng.sample(pool, k=min(4, len(pool))) if i != current]
        candidates = [i for i in candidates if self.created[i] <= session.clock]
        return candidates[0] if candidates else None

    # - output -

    def _advance(self, session: _Session, gap: tuple[float, float]) -> None:
        session.clock = min(session.clock + self.rng.uniform(*gap), self.end - 1)

    def _emit(
        self,
        session: _Session,
        kind: str,
        index: int | None,
        *,
        gap: tuple[float, float],
        query: str | None = None,
        quantity: int = 1,
        price: float | None = None,
    ) -> None:
        self._advance(session, gap)
        product_id = None if index is None else self.catalog.products[index].product_id
        record = (
            math.floor(session.clock),
            len(self.events),
            session.user_id,
            session.session_id,
            kind,
            product_id,
            query,
            quantity,
            price,
        )
        self.events.append(record)

    def rows(self) -> list[dict[str, Any]]:
        ordered = sorted(self.events, key=lambda event: (event[0], event[1]))
        return [
            {
                "user_id": user_id,
                "session_id": session_id,
                "event_type": kind,
                "product_id": product_id,
                "query": query,
                "timestamp": _iso(datetime.fromtimestamp(moment, tz=UTC)),
                "quantity": quantity,
                "price": price,
            }
            for moment, _, user_id, session_id, kind, product_id, query, quantity, price in ordered
        ]


# Relative traffic per hour of the day (UTC): quiet nights, a lunch bump, busy evenings.
_HOURLY_TRAFFIC = (1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 7, 6, 5, 5, 6, 7, 9, 10, 10, 8, 5, 2)

_KEYBOARD_NEIGHBOURS = {
    "a": "sq",
    "e": "wr",
    "i": "uo",
    "o": "ip",
    "n": "bm",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "l": "k",
    "c": "xv",
    "m": "n",
    "p": "o",
}


def _misspell(rng: random.Random, text: str) -> str:
    """One typo in the longest word: a dropped, doubled, swapped or neighbouring letter."""
    words = text.split()
    position = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[position]
    if len(word) < 4:
        return text
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        word = word[:i] + word[i + 1 :]
    elif kind == 1:
        word = word[:i] + word[i] + word[i:]
    elif kind == 2:
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    else:
        neighbours = _KEYBOARD_NEIGHBOURS.get(word[i], "e")
        word = word[:i] + rng.choice(neighbours) + word[i + 1 :]
    words[position] = word
    return " ".join(words)
