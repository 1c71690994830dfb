"""Routes of the HTTP API. Handlers translate HTTP to engine calls and back; no logic lives here.

`create_api` builds the API on its own; `shelfwise.app.create_app` adds the web pages to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Body, FastAPI, Query, Request, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from shelfwise import __version__
from shelfwise.api.answers import answers_router
from shelfwise.api.audiences import audiences_router
from shelfwise.api.auth import ApiAccess, BrowserCaller
from shelfwise.api.errors import ERROR_RESPONSES, install_error_handlers
from shelfwise.api.experiments import experiments_router
from shelfwise.api.keys import keys_router
from shelfwise.api.middleware import BodyLimitMiddleware, TelemetryMiddleware
from shelfwise.api.payloads import JsonRows, as_rows
from shelfwise.api.segments import segments_router
from shelfwise.api.telemetry import Telemetry
from shelfwise.domain import Filters, Product, RecommendationKind, Recommendations, SearchResult
from shelfwise.domain.deletion import DeletionRecord
from shelfwise.domain.errors import InvalidRequestError, NotFoundError
from shelfwise.domain.ingest import IngestReport, QuarantinedRow, Source
from shelfwise.domain.values import MAX_OFFSET, Price
from shelfwise.engine import Engine
from shelfwise.quality.report import QualityReport
from shelfwise.search.rules import Rule
from shelfwise.training.artifacts import Manifest

SEARCH_PARAMETERS = frozenset(
    {"q", "category", "brand", "price_min", "price_max", "available", "page", "page_size", "user_id"}
)
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="How many items to skip.")]
PriceBound = Annotated[Price | None, Query(description="A price: a finite number, not negative.")]
# PUT /v1/synonyms reads its plain-text body itself; this tells /docs (and clients) what to send.
SYNONYMS_BODY = {"requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}}}


class Health(BaseModel):
    """What /healthz answers: the process is up, its build, and the model version it serves."""

    status: str
    version: str
    model_version: str | None


class ProductPage(BaseModel):
    """A page of the catalog, with the catalog's size."""

    total: int
    offset: int
    limit: int
    items: list[Product]


def _filters(
    category: str | None,
    brand: list[str] | None,
    price_min: float | None,
    price_max: float | None,
    available: bool | None,
) -> Filters:
    return Filters(
        category=category, brands=brand or [], price_min=price_min, price_max=price_max, available=available
    )


def request_threads(threads: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that sizes the pool of threads the server runs its (synchronous) handlers on: the
    requests computed at once. More requests wait their turn instead of adding threads that fight over
    the cores. The pool belongs to the server's event loop, so it is sized when the server starts."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        yield

    return lifespan


def create_api(
    engine: Engine, *, browser: BrowserCaller | None = None, browser_cookies: tuple[str, ...] = ()
) -> FastAPI:
    """The HTTP API over `engine`, guarded by its keys (see shelfwise.api.auth). `browser`: who a request
    without a key is, from the session cookies named `browser_cookies`, where the pages are served too."""
    telemetry = Telemetry()
    access = ApiAccess(engine, browser, browser_cookies)
    storefront, events, server, admin = access.storefront(), access.events(), access.server(), access.admin()
    app = FastAPI(
        title="shelfwise",
        version=__version__,
        summary="Search and recommendations for online shops, behind a data-quality gate.",
        lifespan=request_threads(engine.settings.threads.request_threads()),
        responses=ERROR_RESPONSES,
    )
    app.state.engine = engine
    app.state.telemetry = telemetry
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=engine.settings.max_request_bytes)
    app.add_middleware(TelemetryMiddleware, telemetry=telemetry)

    def count_report(report: IngestReport) -> IngestReport:
        """Count an ingestion's quarantined rows and accepted events into the metrics."""
        telemetry.rows_quarantined.labels(report.source).inc(report.quarantined)
        if report.source == "events":
            telemetry.events_ingested.inc(report.accepted - report.duplicates)
        return report

    @app.get("/healthz", response_model=Health, tags=["operations"])
    def healthz() -> Health:
        """Liveness, the build's version and the model version served (null before the first training)."""
        manifest = engine.manifest
        return Health(status="ok", version=__version__, model_version=manifest.version if manifest else None)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["operations"])
    def metrics() -> Response:
        """Prometheus metrics: requests and latencies per endpoint, events, quarantined rows, products."""
        telemetry.products.set(engine.count_products())
        return Response(telemetry.render(), media_type="text/plain; version=0.0.4")

    @app.post("/v1/products", response_model=IngestReport, tags=["catalog"], dependencies=admin)
    def post_products(payload: Annotated[JsonRows, Body()]) -> IngestReport:
        """Upsert products by product_id. Bad rows are quarantined with their reasons, never dropped.
        Bounded (`quality.limits`): too many rows is a 413, a batch mostly unreadable a 422."""
        return count_report(engine.ingest_products(as_rows(payload, "products"), from_request=True))

    @app.get("/v1/products", response_model=ProductPage, tags=["catalog"], dependencies=storefront)
    def list_products(offset: Offset = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ProductPage:
        """A page of the catalog in product_id order."""
        items = engine.products(offset=offset, limit=limit)
        return ProductPage(total=engine.count_products(), offset=offset, limit=limit, items=items)

    @app.get("/v1/products/{product_id}", response_model=Product, tags=["catalog"], dependencies=storefront)
    def get_product(product_id: str) -> Product:
        """One product; 404 when there is none."""
        return engine.get_product(product_id)

    @app.delete(
        "/v1/products/{product_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["catalog"],
        dependencies=admin,
    )
    def delete_product(product_id: str) -> Response:
        """Remove a product from the catalog (its events stay); 404 when there is none."""
        engine.delete_product(product_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @app.post("/v1/events", response_model=IngestReport, tags=["events"], dependencies=events)
    def post_events(payload: Annotated[JsonRows, Body()]) -> IngestReport:
        """Record a batch of events; each changes the next response for its user or session. Bounded
        as products are."""
        return count_report(engine.ingest_events(as_rows(payload, "events"), from_request=True))

    @app.get("/v1/search", response_model=SearchResult, tags=["search"], dependencies=storefront)
    def search(
        request: Request,
        q: Annotated[
            str, Query(max_length=10_000, description="The query; empty browses the filtered catalog.")
        ] = "",
        category: Annotated[
            str | None, Query(description="Category path prefix, e.g. `Home > Bedding`.")
        ] = None,
        brand: Annotated[list[str] | None, Query()] = None,
        price_min: PriceBound = None,
        price_max: PriceBound = None,
        available: bool | None = None,
        page: Annotated[int, Query(ge=1, le=1000)] = 1,
        page_size: Annotated[int, Query(ge=1, le=100)] = 10,
        user_id: str | None = None,
    ) -> SearchResult:
        """A page of results with facets and an explanation per hit, personalised when `user_id` is given.
        An unknown parameter is a 422 naming it (a misspelt filter must not be silently ignored)."""
        unknown = sorted(set(request.query_params) - SEARCH_PARAMETERS)
        if unknown:
            raise InvalidRequestError(
                f"unknown search parameter(s) {unknown}; expected some of {sorted(SEARCH_PARAMETERS)}"
            )
        filters = _filters(category, brand, price_min, price_max, available)
        return engine.search(q, user_id=user_id, filters=filters, page=page, page_size=page_size)

    @app.get("/v1/suggest", response_model=list[str], tags=["search"], dependencies=storefront)
    def suggest(
        q: Annotated[str, Query(max_length=200, description="What the shopper has typed so far.")] = "",
        n: Annotated[int, Query(ge=1, le=20)] = 8,
    ) -> list[str]:
        """Autocomplete: popular past queries, then product titles, that start with `q`."""
        return engine.suggest(q, n)

    @app.get("/v1/rules", response_model=list[Rule], tags=["merchandising"], dependencies=server)
    def list_rules() -> list[Rule]:
        """The merchandising rules in force: boost, bury, pin or filter by query or category."""
        return engine.list_rules()

    @app.post(
        "/v1/rules",
        response_model=Rule,
        status_code=status.HTTP_201_CREATED,
        tags=["merchandising"],
        dependencies=admin,
    )
    def add_rule(rule: Rule) -> Rule:
        """Add (or replace, by rule_id) a rule; the next search uses it."""
        return engine.add_rule(rule)

    @app.delete(
        "/v1/rules/{rule_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=["merchandising"],
        dependencies=admin,
    )
    def delete_rule(rule_id: str) -> Response:
        """Remove a rule; 404 when there is none."""
        engine.delete_rule(rule_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @app.get("/v1/synonyms", response_class=PlainTextResponse, tags=["merchandising"], dependencies=server)
    def get_synonyms() -> str:
        """The synonyms file: `sofa, couch` (both ways) or `tv => television` (one way), one per line."""
        return engine.synonyms_text()

    @app.put("/v1/synonyms", tags=["merchandising"], dependencies=admin, openapi_extra=SYNONYMS_BODY)
    async def put_synonyms(request: Request) -> dict[str, Any]:
        """Replace the synonyms with the plain-text body; the next search uses them. A wrong line is a
        422 naming it, and the synonyms in force stay as they were."""
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidRequestError(f"the synonyms must be UTF-8 text: {error}") from error
        parsed = engine.set_synonyms(text)
        return {"rules": len(parsed.rules), "text": parsed.text()}

    @app.get(
        "/v1/recommendations/{kind}",
        response_model=Recommendations,
        tags=["recommendations"],
        dependencies=storefront,
    )
    def recommend(
        kind: RecommendationKind,
        user_id: str | None = None,
        session_id: str | None = None,
        product_id: str | None = None,
        n: Annotated[int, Query(ge=1, le=200)] = 10,
        category: str | None = None,
        brand: Annotated[list[str] | None, Query()] = None,
        price_min: PriceBound = None,
        price_max: PriceBound = None,
        available: bool | None = None,
        segment: Annotated[
            str | None, Query(description="trending only: what this customer segment's members engage with.")
        ] = None,
    ) -> Recommendations:
        """`n` products of one kind, each with its reason: for a user or session (for-you, trending,
        recently-viewed, buy-again, new-arrivals) or a product (similar, similar-looking, bought-together).
        409 before the first training."""
        filters = _filters(category, brand, price_min, price_max, available)
        return engine.recommend(
            kind,
            user_id=user_id,
            session_id=session_id,
            product_id=product_id,
            n=n,
            filters=filters,
            segment=segment,
        )

    @app.post("/v1/train", response_model=Manifest, tags=["models"], dependencies=admin)
    def train(
        force: Annotated[bool, Query(description="Train even when blocking quality checks fail.")] = False,
    ) -> Manifest:
        """Train a new version from the store and serve it as soon as it is complete. The data-quality
        gate runs first and refuses (422, naming each blocking check) unless `force=true`."""
        return engine.train(force=force)

    @app.get("/v1/quality", response_model=QualityReport, tags=["quality"], dependencies=admin)
    def quality(
        rows: Annotated[int, Query(ge=0, le=10_000, description="How many flagged rows to include.")] = 100,
    ) -> QualityReport:
        """The latest data-quality report: tiers, checks, dataset warnings and the data behind the plots."""
        report = engine.quality_report()
        if report is None:
            raise NotFoundError(
                "no quality report yet: train (POST /v1/train) or run `shelfwise quality check`"
            )
        return report.model_copy(update={"rows": report.rows[:rows]})

    @app.get("/v1/quarantine", response_model=list[QuarantinedRow], tags=["quality"], dependencies=admin)
    def quarantine(
        source: Annotated[Source | None, Query()] = None,
        offset: Offset = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[QuarantinedRow]:
        """Rows the quality gate quarantined, oldest first, each with its id and every reason."""
        return engine.quarantined(source, offset=offset, limit=limit)

    @app.get("/v1/stats", tags=["operations"], dependencies=admin)
    def stats() -> dict[str, Any]:
        """Counts of products, events, users and quarantined rows, and the model version served."""
        return engine.stats()

    @app.delete("/v1/users/{user_id}", tags=["privacy"], dependencies=admin)
    def forget_user(user_id: str) -> dict[str, Any]:
        """Delete a user everywhere the engine keeps them (docs/privacy.md): at once from the store, the
        online state and every kept model version; a served model that only a retrain can clean is
        retrained in the background, and `status` says "retrain pending" until then."""
        record = engine.forget_user(user_id)
        return {"user_id": user_id, "events_deleted": record.removed.get("events", 0), **_deletion(record)}

    @app.get("/v1/users/{user_id}/deletion", tags=["privacy"], dependencies=admin)
    def user_deletion(user_id: str) -> dict[str, Any]:
        """The record of the user's latest deletion: what was removed where, each kept model version's
        outcome, and when the models were clean of them; 404 when none is on record."""
        return _deletion(engine.deletions(user_id)[-1])

    app.include_router(keys_router(engine, admin))
    app.include_router(segments_router(engine, server))
    app.include_router(answers_router(engine, storefront, admin))
    app.include_router(audiences_router(engine, server))
    app.include_router(experiments_router(engine, server, admin))
    return app


def _deletion(record: DeletionRecord) -> dict[str, Any]:
    return {**record.model_dump(mode="json"), "status": record.status}
