"""What every page handler shares: the engine, the templates, the shopper's events and the shelves."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from shelfwise import __version__
from shelfwise.domain import (
    Event,
    EventType,
    Explanation,
    Filters,
    RecommendationKind,
    Recommendations,
    SearchResult,
)
from shelfwise.domain.access import Caller, Scope
from shelfwise.domain.errors import AccessDeniedError, ShelfwiseError
from shelfwise.domain.ratelimit import RateLimiter
from shelfwise.engine import Engine
from shelfwise.web.forms import first, read_form
from shelfwise.web.images import picture_src, product_image_alt
from shelfwise.web.security import (
    ADMIN_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SHOP_COOKIE,
    SignedCookies,
    session_secret,
)
from shelfwise.web.shopper import Shopper, current_shopper, remember
from shelfwise.web.training_job import TrainingJob

TEMPLATES_DIR = Path(__file__).parent / "templates"
log = logging.getLogger(__name__)
FORGED_FORM = (
    "<!doctype html><title>Form refused</title><p>This form has expired or was sent from another site. "
    "Go back, reload the page and try again.</p>"
)
RULE_SIGNAL = "rule"  # the search pipeline's signal for merchandising-rule adjustments


def money(value: float | None, currency: str | None = None) -> str:
    """A price as the shop shows it: `$1,234.50`, or the amount and an unknown currency's code."""
    if value is None:
        return "Price on request"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£", None: "$"}.get(currency)
    return f"{symbol}{value:,.2f}" if symbol else f"{value:,.2f} {currency}"


def promotion(explanation: Explanation) -> str | None:
    """A shopper-facing badge for a hit a merchandising rule pinned or boosted (not one it buried)."""
    for reason in explanation.reasons:
        if reason.signal == RULE_SIGNAL and not reason.detail.startswith(("buried", "bury")):
            return "Featured"
    return None


def searched_instead(result: SearchResult) -> str | None:
    """The corrected query a search ran instead of the one typed, when the pipeline corrected it."""
    return result.corrected_query


def make_templates() -> Jinja2Templates:
    """The page templates with the filters and helpers they use."""
    templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
    templates.env.filters["money"] = money
    templates.env.globals["alt_text"] = product_image_alt
    templates.env.globals["promotion"] = promotion
    templates.env.globals["searched_instead"] = searched_instead
    templates.env.globals["version"] = __version__
    templates.env.globals["urlencode"] = lambda pairs: urlencode(pairs, doseq=True)
    return templates


@dataclass
class WebContext:
    """The engine the pages serve, their templates, their signed cookies, and the one background
    training job. No page ever holds an API key: the pages' scripts call the API with the browser's
    signed session (see `browser_caller`)."""

    engine: Engine
    templates: Jinja2Templates = field(default_factory=make_templates)
    training: TrainingJob | None = None
    cookies: SignedCookies = field(init=False)
    login_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        if self.training is None:
            self.training = TrainingJob(self.engine)
        security = self.engine.settings.security
        root = self.engine.settings.training.images.root
        self.templates.env.globals["picture"] = lambda product: picture_src(product, root)
        self.cookies = SignedCookies(session_secret(self.engine.settings))
        self.login_limiter = RateLimiter(
            security.login_attempts / security.login_window_seconds,
            security.login_attempts,
            "admin log-in attempts from this address",
        )

    @property
    def demo_mode(self) -> bool:
        """Whether the user switcher may shop as any user (`shelfwise demo`)."""
        return self.engine.settings.security.demo_mode

    @property
    def admin_enabled(self) -> bool:
        """Whether some admin key is configured; without one the admin pages are switched off."""
        return Scope.ADMIN in self.engine.keys.guarded()

    @property
    def admin_session_seconds(self) -> float:
        return self.engine.settings.security.admin_session_hours * 3600

    def shopper(self, request: Request) -> Shopper:
        """The visitor of this request (see shelfwise.web.shopper)."""
        return current_shopper(request, self.cookies, self.demo_mode)

    def admin_caller(self, request: Request) -> Caller | None:
        """The admin logged in by this request's session cookie, while the key it logged in with is
        valid and an admin key."""
        session = self.cookies.read(request, ADMIN_COOKIE, self.admin_session_seconds)
        key_id = session.get("kid") if session else None
        caller = self.engine.keys.caller(key_id) if isinstance(key_id, str) else None
        return caller if caller is not None and caller.scope is Scope.ADMIN else None

    def browser_caller(self, request: Request) -> Caller | None:
        """Who a browser is to the API when it sends no key: the logged-in admin, else its own shopping
        session (storefront scope, naming only itself). A write must carry the page's CSRF token and
        come from this site."""
        caller = self.admin_caller(request)
        if caller is None and request.cookies.get(SHOP_COOKIE):
            shopper = self.shopper(request)
            if not shopper.new_session:
                caller = Caller(
                    key_id=f"session:{shopper.session_id}",
                    scope=Scope.STOREFRONT,
                    session_id=shopper.session_id,
                    user_id=shopper.user_id,
                )
        unsafe = request.method not in SAFE_METHODS
        if (
            caller is not None
            and unsafe
            and not self.cookies.genuine(request, request.headers.get(CSRF_HEADER))
        ):
            raise AccessDeniedError(
                "a write with the browser's session needs the page's CSRF token in X-CSRF-Token "
                "and must come from this site"
            )
        return caller

    def render(
        self,
        request: Request,
        name: str,
        values: dict[str, Any],
        shopper: Shopper | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        """Render a page with its CSRF token; with a shopper, their cookies are written back too."""
        context = {
            "request": request,
            "shopper": shopper,
            "demo_mode": self.demo_mode,
            "csrf_token": self.cookies.csrf_token(request),
            **values,
        }
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        self.keep(request, response, shopper)
        return response

    async def genuine_form(self, request: Request) -> dict[str, list[str]] | None:
        """The posted form, or None when it lacks this browser's CSRF token or came from another site."""
        form = await read_form(request)
        return form if self.cookies.genuine(request, first(form, CSRF_FIELD)) else None

    def keep(self, request: Request, response: Response, shopper: Shopper | None = None) -> None:
        """Write the shopper's session and cart, and a new CSRF token, onto a response."""
        self.cookies.keep_csrf(request, response)
        if shopper is not None:
            remember(request, response, shopper, self.cookies)

    # events ---------------------------------------------------------------------------------------

    def record(
        self,
        shopper: Shopper,
        kind: EventType,
        product_id: str | None = None,
        *,
        query: str | None = None,
        quantity: int = 1,
        price: float | None = None,
        request_id: str | None = None,
    ) -> None:
        """Record what the shopper did; a failure to record never breaks the page being shown."""
        try:
            event = Event(
                user_id=shopper.user_id,
                session_id=shopper.session_id,
                event_type=kind,
                product_id=product_id,
                query=query,
                quantity=quantity,
                price=price,
                request_id=request_id,
            )
            self.engine.record(event)
        except (ValueError, ShelfwiseError) as error:
            log.warning("could not record a %s event: %s", kind.value, error)

    # recommendations ------------------------------------------------------------------------------

    def shelf(
        self,
        kind: RecommendationKind,
        shopper: Shopper | None = None,
        product_id: str | None = None,
        n: int = 8,
        filters: Filters | None = None,
    ) -> Recommendations | None:
        """Recommendations of one kind, or None when they cannot be given yet (no model trained, unknown
        product): a shelf that cannot be filled is left out of the page."""
        try:
            return self.engine.recommend(
                kind,
                user_id=shopper.user_id if shopper else None,
                session_id=shopper.session_id if shopper and not shopper.user_id else None,
                product_id=product_id,
                n=n,
                filters=filters,
            )
        except ShelfwiseError as error:
            log.info("no %s shelf: %s", kind, error)
            return None
