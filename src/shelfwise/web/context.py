"""What every page handler shares: the engine, the templates, the shopper's events and the shelves."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

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
from shelfwise.domain.errors import ShelfwiseError
from shelfwise.engine import Engine
from shelfwise.web.images import product_image_alt
from shelfwise.web.shopper import Shopper, remember
from shelfwise.web.training_job import TrainingJob

TEMPLATES_DIR = Path(__file__).parent / "templates"
log = logging.getLogger(__name__)
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
    """The engine the pages serve, their templates, and the one background training job."""

    engine: Engine
    templates: Jinja2Templates = field(default_factory=make_templates)
    training: TrainingJob | None = None

    def __post_init__(self) -> None:
        if self.training is None:
            self.training = TrainingJob(self.engine)

    @property
    def admin_key(self) -> str | None:
        """The admin API key; None switches the admin pages off."""
        return self.engine.settings.admin_api_key

    @property
    def public_key(self) -> str | None:
        """The public API key the pages' scripts send to the API (None when reads are open)."""
        return self.engine.settings.public_api_key

    def render(
        self,
        request: Request,
        name: str,
        values: dict[str, Any],
        shopper: Shopper | None = None,
        status_code: int = 200,
    ) -> HTMLResponse:
        """Render a page; with a shopper, their cookies are written back on the response."""
        context = {"request": request, "shopper": shopper, "public_key": self.public_key, **values}
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        if shopper is not None:
            remember(response, shopper)
        return response

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
