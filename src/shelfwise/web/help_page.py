"""The shop's help box: a customer asks, the shop's accepted answers come back with why; a question
nothing answers is passed on to the shop (its admin page lists it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from shelfwise.domain.errors import ShelfwiseError
from shelfwise.web.context import WebContext


def help_router(web: WebContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/help")
    def help_page(
        request: Request,
        q: Annotated[str, Query(max_length=2_000)] = "",
        product_id: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        shopper = web.shopper(request)
        result, problem = None, None
        if q.strip():
            try:
                result = web.engine.answers.ask(
                    q,
                    product_id=product_id or None,
                    user_id=shopper.user_id,
                    session_id=shopper.session_id,
                )
            except ShelfwiseError as error:
                problem = str(error)
        return web.render(
            request,
            "help.html",
            {"q": q, "product_id": product_id or "", "result": result, "problem": problem},
            shopper,
        )

    return router
