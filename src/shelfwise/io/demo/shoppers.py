"""The demo shoppers and what they do: latent tastes (a few categories, a price band, a couple of brands)
and the sessions those tastes produce.

Shoppers browse in sessions (search, view, click, add to cart, purchase), look at items similar to the one
they just saw, buy complements (a phone, then a case) in the same or a later session, and rebuy consumables
(coffee, shampoo) at intervals, so every recommender has a signal to find.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shelfwise.io.demo.catalog import BAND_CENTRES, Catalog, DemoProduct, PriceBand, band_fit, iso
from shelfwise.io.demo.categories import CATEGORIES, COMPLEMENTS
from shelfwise.io.demo.typos import misspell


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
        ("Nordhem", "Everyday Basics"),
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


def make_users(rng: random.Random, n_users: int) -> list[DemoUser]:
    named = list(DEMO_USERS[:n_users])
    return named + [random_user(rng, f"u{number:05d}") for number in range(1, n_users - len(named) + 1)]


def _departments() -> dict[str, list[str]]:
    departments: dict[str, list[str]] = {}
    for spec in CATEGORIES:
        departments.setdefault(spec.path.split(" > ")[0], []).append(spec.path)
    return departments


_DEPARTMENTS = _departments()


def random_user(rng: random.Random, user_id: str) -> DemoUser:
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


# Relative traffic per hour of the day (UTC): quiet nights, a lunch bump, busy evenings.
_HOURLY_TRAFFIC = (1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 6, 7, 6, 5, 5, 6, 7, 9, 10, 10, 8, 5, 2)


class Simulator:
    """Runs shoppers' sessions over the catalog, every draw from one generator, and collects the events."""

    def __init__(self, rng: random.Random, catalog: Catalog, end: datetime, days: int) -> None:
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

    def _query(self, product: DemoProduct) -> str:
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
        return misspell(self.rng, words) if self.rng.random() < 0.15 else words

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
        chance *= band_fit(product.price, spec.median_price, BAND_CENTRES[user.price_band])
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
                "timestamp": iso(datetime.fromtimestamp(moment, tz=UTC)),
                "quantity": quantity,
                "price": price,
            }
            for moment, _, user_id, session_id, kind, product_id, query, quantity, price in ordered
        ]
