"""The shop a visitor sees: home, search, product, cart and the user switcher. Views and searches are
recorded as events when the page renders; clicks are posted by the page's script; cart and checkout
record theirs when the form is posted. The next page then reflects them."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from shelfwise.domain import EventType, Filters, Product, RecommendationKind, Recommendations
from shelfwise.domain.errors import NotFoundError, ShelfwiseError
from shelfwise.engine import Engine
from shelfwise.index.catalog import price_band
from shelfwise.web.context import FORGED_FORM, WebContext
from shelfwise.web.demo_users import shopper_choices
from shelfwise.web.forms import first, local_path
from shelfwise.web.images import DEMO_PICTURES, picture_src
from shelfwise.web.shopper import MAX_QUANTITY, new_session_id, valid_id

PAGE_SIZE = 12

MAX_PAGE = 100
Kind = RecommendationKind
# The home page's shelves after "Picked for you" and "Trending now", in order.
HOME_SHELVES = (
    (Kind.BUY_AGAIN, "Buy it again"),
    (Kind.NEW_ARRIVALS, "New arrivals"),
    (Kind.RECENTLY_VIEWED, "Recently viewed"),
)


def price_bounds(band: str) -> tuple[float | None, float | None]:
    """`25-50` -> (25, 49.99); `1000+` -> (1000, None); anything else -> no bounds."""
    try:
        if band.endswith("+"):
            return float(band[:-1]), None
        low, _, high = band.partition("-")
        return float(low), float(high) - 0.01
    except ValueError:
        return None, None


def storefront_router(web: WebContext) -> APIRouter:
    """The shop's pages and form posts."""
    router = APIRouter(include_in_schema=False)
    engine = web.engine

    def base_values(request: Request) -> dict[str, Any]:
        return {
            "choices": shopper_choices(engine) if web.demo_mode else [],
            "current_path": str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
        }

    @router.get("/")
    def home(request: Request) -> Response:
        shopper = web.shopper(request)
        for_you, trending = web.shelf(Kind.FOR_YOU, shopper, n=8), web.shelf(Kind.TRENDING, shopper, n=8)
        # Without any history, for-you falls back to what trends: show that once, and say so.
        cold_start = for_you is not None and trending is not None and _same_items(for_you, trending)
        shelves = [
            (Kind.FOR_YOU.value, "Picked for you", None if cold_start else for_you),
            (Kind.TRENDING.value, "Trending now", trending),
        ]
        shelves += [(kind.value, title, web.shelf(kind, shopper, n=8)) for kind, title in HOME_SHELVES]
        departments = _departments(engine)
        return web.render(
            request,
            "home.html",
            {
                **base_values(request),
                "shelves": [(k, t, s) for k, t, s in shelves if s is not None and s.items],
                "trained": engine.manifest is not None,
                "cold_start": cold_start,
                "departments": departments,
            },
            shopper,
        )

    @router.get("/search")
    def search(
        request: Request,
        q: Annotated[str, Query(max_length=500)] = "",
        category: str | None = None,
        brand: Annotated[list[str] | None, Query()] = None,
        price: str | None = None,
        available: bool | None = None,
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    ) -> Response:
        shopper = web.shopper(request)
        low, high = price_bounds(price) if price else (None, None)
        filters = Filters(
            category=category or None, brands=brand or [], price_min=low, price_max=high, available=available
        )
        error = None
        try:
            result = engine.search(
                q, user_id=shopper.user_id, filters=filters, page=page, page_size=PAGE_SIZE
            )
        except ShelfwiseError as problem:
            result, error = None, str(problem)
        refining = bool(category or brand or price or available is not None) or page > 1
        if q.strip() and result is not None and not refining:
            web.record(shopper, EventType.SEARCH, query=q.strip(), request_id=result.request_id)
        pages = math.ceil(result.total / PAGE_SIZE) if result else 0
        params: list[tuple[str, str]] = [("q", q)]
        if category:
            params.append(("category", category))
        params += [("brand", b) for b in brand or []]
        if price:
            params.append(("price", price))
        if available is not None:
            params.append(("available", "true" if available else "false"))
        return web.render(
            request,
            "search.html",
            {
                **base_values(request),
                "q": q,
                "result": result,
                "error": error,
                "category": category,
                "brands": brand or [],
                "price": price,
                "available": available,
                "page": page,
                "pages": min(pages, MAX_PAGE),
                "params": params,
            },
            shopper,
        )

    @router.get("/product/{product_id}")
    def product(request: Request, product_id: str, rid: str | None = None) -> Response:
        shopper = web.shopper(request)
        try:
            item = engine.get_product(product_id)
        except NotFoundError:
            return web.render(
                request,
                "not_found.html",
                {**base_values(request), "what": f"No product with the id “{product_id}”."},
                shopper,
                status_code=404,
            )
        web.record(shopper, EventType.VIEW, item.product_id, price=item.price, request_id=rid)
        return web.render(
            request,
            "product.html",
            {
                **base_values(request),
                "product": item,
                "band": price_band(item.price) if item.price is not None else None,
                "similar": web.shelf(Kind.SIMILAR, shopper, product_id=item.product_id, n=8),
                "looks": web.shelf(Kind.SIMILAR_LOOKING, shopper, product_id=item.product_id, n=8),
                "together": web.shelf(Kind.BOUGHT_TOGETHER, shopper, product_id=item.product_id, n=6),
                "in_cart": shopper.cart.get(item.product_id, 0),
            },
            shopper,
        )

    @router.get("/cart")
    def cart(request: Request, added: str | None = None, ordered: int = 0) -> Response:
        shopper = web.shopper(request)
        lines = _cart_lines(engine, shopper.cart)
        added_product = next((p for p, _ in lines if p.product_id == added), None)
        anchor = added_product.product_id if added_product else (lines[-1][0].product_id if lines else None)
        return web.render(
            request,
            "cart.html",
            {
                **base_values(request),
                "lines": lines,
                "total": sum((p.price or 0.0) * n for p, n in lines),
                "added": added_product,
                "ordered": ordered,
                "together": (
                    web.shelf(Kind.BOUGHT_TOGETHER, shopper, product_id=anchor, n=6) if anchor else None
                ),
                "for_you": web.shelf(Kind.FOR_YOU, shopper, n=8),
            },
            shopper,
        )

    @router.post("/cart/add")
    async def add_to_cart(request: Request) -> Response:
        form = await web.genuine_form(request)
        if form is None:
            return HTMLResponse(FORGED_FORM, status_code=403)
        shopper = web.shopper(request)
        product_id = first(form, "product_id")
        quantity = first(form, "quantity", "1")
        amount = min(MAX_QUANTITY, max(1, int(quantity))) if quantity.isdigit() else 1
        try:
            item = engine.get_product(product_id)
        except NotFoundError:
            return RedirectResponse("/cart", status_code=303)
        shopper.cart[item.product_id] = min(MAX_QUANTITY, shopper.cart.get(item.product_id, 0) + amount)
        web.record(shopper, EventType.ADD_TO_CART, item.product_id, quantity=amount, price=item.price)
        response = RedirectResponse(f"/cart?added={item.product_id}", status_code=303)
        web.keep(request, response, shopper)
        return response

    @router.post("/cart/remove")
    async def remove_from_cart(request: Request) -> Response:
        form = await web.genuine_form(request)
        if form is None:
            return HTMLResponse(FORGED_FORM, status_code=403)
        shopper = web.shopper(request)
        shopper.cart.pop(first(form, "product_id"), None)
        response = RedirectResponse("/cart", status_code=303)
        web.keep(request, response, shopper)
        return response

    @router.post("/cart/checkout")
    async def checkout(request: Request) -> Response:
        if await web.genuine_form(request) is None:
            return HTMLResponse(FORGED_FORM, status_code=403)
        shopper = web.shopper(request)
        lines = _cart_lines(engine, shopper.cart)
        for item, amount in lines:
            web.record(shopper, EventType.PURCHASE, item.product_id, quantity=amount, price=item.price)
        shopper.cart = {}
        response = RedirectResponse(f"/cart?ordered={len(lines)}", status_code=303)
        web.keep(request, response, shopper)
        return response

    @router.post("/shopper")
    async def switch_shopper(request: Request) -> Response:
        """Shop as a demo user, or as a fresh anonymous guest (a new session, an empty cart). Demo mode
        only: elsewhere a browser is its own anonymous session and never anyone else."""
        if not web.demo_mode:
            return HTMLResponse("Not found", status_code=404)
        form = await web.genuine_form(request)
        if form is None:
            return HTMLResponse(FORGED_FORM, status_code=403)
        shopper = web.shopper(request)
        chosen = first(form, "user_id")
        shopper.user_id = chosen if chosen and valid_id(chosen) else None
        shopper.session_id = new_session_id()
        shopper.cart = {}
        response = RedirectResponse(local_path(first(form, "next", "/")), status_code=303)
        web.keep(request, response, shopper)
        return response

    return router


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _same_items(first_shelf: Recommendations, second_shelf: Recommendations) -> bool:
    return _ids(first_shelf) == _ids(second_shelf)


def _ids(shelf: Recommendations) -> list[str]:
    return [item.product.product_id for item in shelf.items]


def _cart_lines(engine: Engine, cart: dict[str, int]) -> list[tuple[Product, int]]:
    lines = []
    for product_id, amount in cart.items():
        try:
            lines.append((engine.get_product(product_id), amount))
        except NotFoundError:
            continue  # removed from the catalog since it was put in the cart
    return lines


def _departments(engine: Engine) -> list[tuple[str, int, str | None]]:
    """Top-level categories with their product counts and a picture from one of their products."""
    try:
        browse = engine.search("", page_size=1)
    except ShelfwiseError:
        return []
    departments = []
    for facet in browse.facets.get("category", [])[:8]:
        sample = engine.search("", filters=Filters(category=facet.value), page_size=1)
        root = engine.settings.training.images.root
        image = picture_src(sample.hits[0].product, root) if sample.hits else None
        if image and image.startswith(DEMO_PICTURES):
            image = f"{DEMO_PICTURES}{_slug(facet.value)}.svg"  # the department's own picture
        departments.append((facet.value, facet.count, image))
    return departments
