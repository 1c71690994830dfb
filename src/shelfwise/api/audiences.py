"""/v1/audiences: the users most likely to act next on a product, a category or a campaign, as JSON or
CSV. Audiences name users, so they need the server or admin scope, never the storefront's."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, params
from fastapi.responses import Response

from shelfwise.audiences.targets import MAX_AUDIENCE_SIZE, MAX_EXCLUDE_DAYS
from shelfwise.domain.audiences import Audience
from shelfwise.engine import Engine

CSV_TYPE = "text/csv"


def audiences_router(engine: Engine, dependencies: list[params.Depends]) -> APIRouter:
    router = APIRouter(prefix="/v1/audiences", tags=["audiences"], dependencies=dependencies)

    @router.get(
        "",
        response_model=Audience,
        responses={200: {"content": {CSV_TYPE: {"schema": {"type": "string"}}}}},
    )
    def audience(
        product_id: str | None = None,
        category: str | None = None,
        products: Annotated[
            str | None, Query(description="A campaign: product ids separated by commas.")
        ] = None,
        size: Annotated[int, Query(ge=1, le=MAX_AUDIENCE_SIZE, description="Most users returned.")] = 1000,
        exclude_buyers_days: Annotated[
            float,
            Query(
                ge=0, le=MAX_EXCLUDE_DAYS, description="Leave out who bought a target product this recently."
            ),
        ] = 30.0,
        segment: Annotated[
            str | None, Query(description="Only this customer segment's members (GET /v1/segments).")
        ] = None,
        format: Annotated[
            Literal["json", "csv"] | None, Query(description="csv: rank,user_id,score (or Accept: text/csv).")
        ] = None,
        accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    ) -> Audience | Response:
        """Give exactly one of product_id, category or products. Users are ranked by the share of their
        next action the recommendation models expect on the target; recent buyers are left out. 400 names
        a bad or missing target, 404 a product, category or segment the trained models do not know, 409
        before the first training."""
        result = engine.audience(
            product_id=product_id,
            category=category,
            product_ids=products.split(",") if products is not None else None,
            size=size,
            exclude_buyers_days=exclude_buyers_days,
            segment=segment,
        )
        wants_csv = format == "csv" or (format is None and CSV_TYPE in (accept or ""))
        if wants_csv:
            return Response(
                result.csv(),
                media_type=CSV_TYPE,
                headers={"Content-Disposition": 'attachment; filename="audience.csv"'},
            )
        return result

    return router
