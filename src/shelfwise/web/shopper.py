"""Who is shopping and what is in their cart, kept in cookies: the shopper's signed session (`sw_shop`:
an anonymous session id and, in demo mode only, the demo user it switched to) and the cart lines as
`product_id:quantity` (unsigned: a visitor may only change their own cart). No server-side store is
needed. Outside demo mode the shop never shops as a user: the session is all a browser is."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from shelfwise.web.security import SHOP_COOKIE, SignedCookies, is_https

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


def current_shopper(connection: HTTPConnection, cookies: SignedCookies, demo_mode: bool) -> Shopper:
    """The shopper the request's signed session describes; a new session when it has none (or one that
    does not verify). The demo user it switched to counts in demo mode only."""
    signed = cookies.read(connection, SHOP_COOKIE, COOKIE_AGE) or {}
    session, user = signed.get("sid"), signed.get("uid")
    new_session = not (isinstance(session, str) and _ID.match(session))
    if new_session:
        session = new_session_id()
    return Shopper(
        user_id=user if demo_mode and isinstance(user, str) and _ID.match(user) else None,
        session_id=str(session),
        cart=parse_cart(connection.cookies.get(CART_COOKIE, "")),
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


def remember(request: Request, response: Response, shopper: Shopper, cookies: SignedCookies) -> None:
    """Write the shopper back into cookies (lax, so that links from elsewhere keep the session)."""
    session = {"sid": shopper.session_id, "uid": shopper.user_id}
    cookies.write(request, response, SHOP_COOKIE, session, COOKIE_AGE, samesite="lax")
    if shopper.cart:
        response.set_cookie(
            CART_COOKIE,
            format_cart(shopper.cart),
            max_age=COOKIE_AGE,
            httponly=True,
            secure=is_https(request),
            samesite="lax",
            path="/",
        )
    elif CART_COOKIE in request.cookies:
        response.delete_cookie(CART_COOKIE, path="/")
