"""Who is shopping and what is in their cart, kept in cookies: a chosen demo user or an anonymous
session, and cart lines as `product_id:quantity`. No server-side session store is needed."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

USER_COOKIE = "sw_user"
SESSION_COOKIE = "sw_session"
CART_COOKIE = "sw_cart"
MAX_CART_LINES = 30
MAX_QUANTITY = 99
COOKIE_AGE = 30 * 24 * 3600
_ID = re.compile(r"^[\w.@:-]{1,128}$")


@dataclass
class Shopper:
    """The visitor of one request: who they shop as, their session, their cart."""

    user_id: str | None
    session_id: str
    cart: dict[str, int] = field(default_factory=dict)
    new_session: bool = False

    @property
    def label(self) -> str:
        """What the page calls them."""
        return self.user_id or "Guest"

    @property
    def cart_count(self) -> int:
        """Items in the cart, counting quantities."""
        return sum(self.cart.values())


def current_shopper(request: Request) -> Shopper:
    """The shopper the request's cookies describe; a new session when it has none (or a bad one)."""
    user = request.cookies.get(USER_COOKIE) or None
    session = request.cookies.get(SESSION_COOKIE) or ""
    new_session = not _ID.match(session)
    if new_session:
        session = new_session_id()
    return Shopper(
        user_id=user if user and _ID.match(user) else None,
        session_id=session,
        cart=parse_cart(request.cookies.get(CART_COOKIE, "")),
        new_session=new_session,
    )


def new_session_id() -> str:
    """A fresh anonymous session id."""
    return f"web-{uuid.uuid4().hex[:16]}"


def parse_cart(text: str) -> dict[str, int]:
    """The cart cookie's lines, dropping malformed ones and capping lines and quantities."""
    cart: dict[str, int] = {}
    for line in unquote(text).split(","):
        product_id, _, quantity = line.rpartition(":")
        if product_id and quantity.isdigit() and _ID.match(product_id):
            cart[product_id] = min(MAX_QUANTITY, max(1, int(quantity)))
        if len(cart) >= MAX_CART_LINES:
            break
    return cart


def format_cart(cart: dict[str, int]) -> str:
    """The cart as its cookie stores it (what `parse_cart` reads back)."""
    return quote(",".join(f"{product_id}:{quantity}" for product_id, quantity in cart.items()), safe=":,")


def valid_id(value: str) -> bool:
    """Whether a user, session or product id from a cookie or form is one the pages accept."""
    return bool(_ID.match(value))


def remember(response: Response, shopper: Shopper) -> None:
    """Write the shopper back into cookies (lax, so that links from elsewhere keep the session)."""
    _keep(response, SESSION_COOKIE, shopper.session_id)
    _keep(response, USER_COOKIE, shopper.user_id)
    _keep(response, CART_COOKIE, format_cart(shopper.cart) if shopper.cart else None)


def _keep(response: Response, name: str, value: str | None) -> None:
    if value:
        response.set_cookie(name, value, max_age=COOKIE_AGE, httponly=True, samesite="lax", path="/")
    else:
        response.delete_cookie(name, path="/")
