"""Which optional parts of the engine and API exist in this build, so pages show them only when they do.

Autocomplete, merchandising rules, spelling correction and some recommendation kinds arrive with other
work; the pages look for them here at request time instead of importing them."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from shelfwise.domain import RecommendationKind

OPTIONAL_SHELVES: dict[str, str] = {
    "buy-again": "Buy it again",
    "new-arrivals": "New arrivals",
}


def has_route(app: FastAPI, path: str, method: str = "GET") -> bool:
    return any(
        isinstance(route, APIRoute) and route.path == path and method in (route.methods or set())
        for route in app.routes
    )


def available_kinds() -> set[str]:
    return {kind.value for kind in RecommendationKind}


def searched_instead(result: Any) -> str | None:
    """The corrected query a search ran instead of the typed one, when the pipeline corrected it."""
    value = getattr(result, "corrected_query", None)
    return value if isinstance(value, str) and value.strip() else None
