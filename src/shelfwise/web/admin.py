"""The admin pages: data quality, catalog and events, models, merchandising rules, API keys. Logging in
with an admin key starts a signed session (the cookie names the key's id, never the key); every page
needs it, and every form post its CSRF token too. Log-in attempts are limited per client address.
Without an admin key configured, the admin pages are switched off."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from shelfwise.domain.access import Scope
from shelfwise.domain.errors import RateLimitedError, ShelfwiseError
from shelfwise.domain.ingest import Source
from shelfwise.engine import Engine
from shelfwise.io.svg import bar_chart, column_chart
from shelfwise.quality.html import render_html
from shelfwise.quality.plots import report_plots
from shelfwise.web.analytics import summarise_events
from shelfwise.web.audiences_view import audience_view, compute, uplift_values
from shelfwise.web.context import FORGED_FORM, WebContext
from shelfwise.web.forms import first, local_path
from shelfwise.web.quarantine_view import find_entry, list_quarantine
from shelfwise.web.security import ADMIN_COOKIE

QUARANTINE_PAGE = 50


def admin_router(web: WebContext) -> APIRouter:
    """The admin pages and their form posts, each behind the admin login."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    engine = web.engine

    def page(request: Request, name: str, values: dict[str, Any], status_code: int = 200) -> HTMLResponse:
        base = {
            "section": name.split("/")[-1].removesuffix(".html"),
            "notice": request.query_params.get("notice"),
            "problem": request.query_params.get("problem"),
            "model_version": engine.manifest.version if engine.manifest else None,
        }
        return web.render(request, name, {**base, **values}, status_code=status_code)

    def refused(request: Request) -> Response | None:
        """A reason not to serve an admin page: admin switched off, or not logged in."""
        if not web.admin_enabled:
            return page(request, "admin/disabled.html", {}, status_code=403)
        if web.admin_caller(request) is not None:
            return None
        if request.method != "GET" or request.url.path.endswith("/status"):
            return JSONResponse(
                {"error": {"code": "unauthorized", "message": "log in to the admin pages first"}},
                status_code=401,
            )
        target = quote(str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/admin/login?next={target}", status_code=303)

    def back(path: str, notice: str | None = None, problem: str | None = None) -> RedirectResponse:
        query = f"notice={quote(notice)}" if notice else (f"problem={quote(problem)}" if problem else "")
        joiner = "&" if "?" in path else "?"
        return RedirectResponse(f"{path}{joiner}{query}" if query else path, status_code=303)

    # login ----------------------------------------------------------------------------------------

    async def posted(request: Request) -> dict[str, list[str]] | Response:
        """The form of an admin post, or the response refusing it (not logged in, or no CSRF token)."""
        if (stop := refused(request)) is not None:
            return stop
        form = await web.genuine_form(request)
        return form if form is not None else HTMLResponse(FORGED_FORM, status_code=403)

    @router.get("/login")
    def login_form(request: Request, next: str = "/admin") -> Response:
        if not web.admin_enabled:
            return page(request, "admin/disabled.html", {}, status_code=403)
        return page(request, "admin/login.html", {"next": local_path(next, "/admin"), "error": None})

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not web.admin_enabled:
            return page(request, "admin/disabled.html", {}, status_code=403)
        form = await web.genuine_form(request)
        if form is None:
            return HTMLResponse(FORGED_FORM, status_code=403)
        key, target = first(form, "key"), local_path(first(form, "next", "/admin"), "/admin")
        try:
            web.login_limiter.take(request.client.host if request.client else "unknown")
        except RateLimitedError as limited:
            slow_down = page(request, "admin/login.html", {"next": target, "error": str(limited)}, 429)
            slow_down.headers["retry-after"] = str(math.ceil(limited.retry_after))
            return slow_down
        caller = web.engine.keys.authenticate(key) if key else None
        if caller is None or caller.scope is not Scope.ADMIN:
            error = "Enter the admin API key." if not key else "That key is not an admin API key."
            return page(request, "admin/login.html", {"next": target, "error": error}, status_code=401)
        response = RedirectResponse(target, status_code=303)
        session = {"kid": caller.key_id}
        web.cookies.write(request, response, ADMIN_COOKIE, session, web.admin_session_seconds, "strict")
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if await web.genuine_form(request) is None:
            return HTMLResponse(FORGED_FORM, status_code=403)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(ADMIN_COOKIE, path="/")
        return response

    # overview -------------------------------------------------------------------------------------

    @router.get("")
    def overview(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        report = engine.quality_report()
        return page(request, "admin/overview.html", {"stats": engine.stats(), "report": report})

    # data quality ---------------------------------------------------------------------------------

    @router.get("/quality")
    def quality(
        request: Request,
        source: Annotated[str | None, Query(pattern="^(products|events)?$")] = None,
        check: str | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        report = engine.quality_report()
        chosen: Source | None = (
            "products" if source == "products" else "events" if source == "events" else None
        )
        listing = list_quarantine(engine, chosen, check or None, offset, QUARANTINE_PAGE)
        checks_chart = (
            bar_chart(
                [(c.name, float(c.rows)) for c in report.check_details[:12]],
                title="Rows per quality check",
                empty="No row-level check fired: every row was accepted as it came.",
            )
            if report
            else None
        )
        return page(
            request,
            "admin/quality.html",
            {
                "report": report,
                "checks_chart": checks_chart,
                "plots": report_plots(report, with_prices=False) if report else [],
                "listing": listing,
                "source": chosen,
                "check": check,
                "offset": offset,
                "page_size": QUARANTINE_PAGE,
                "counts": {
                    "products": engine.count_quarantined("products"),
                    "events": engine.count_quarantined("events"),
                },
                "quarantine_limit": engine.quality_config.limits.max_quarantined_per_source,
            },
        )

    @router.get("/quality/report.html")
    def quality_report_html(request: Request) -> Response:
        """The quality gate's own HTML report (with its plots), embedded in the quality page."""
        if (stop := refused(request)) is not None:
            return stop
        report = engine.quality_report()
        if report is None:
            return HTMLResponse("<p>No quality report yet.</p>", status_code=404)
        return HTMLResponse(render_html(report))

    @router.get("/quality/quarantine/{entry_id}")
    def quarantined_row(request: Request, entry_id: int) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        entry = find_entry(engine, entry_id)
        if entry is None:
            return page(request, "admin/not_found.html", {"what": f"No quarantined row {entry_id}."}, 404)
        raw = json.dumps(entry.raw, indent=2, ensure_ascii=False, default=str)
        return page(request, "admin/quarantine_row.html", {"entry": entry, "raw": raw})

    @router.post("/quality/retry")
    async def retry(request: Request) -> Response:
        form = await posted(request)
        if isinstance(form, Response):
            return form
        source = first(form, "source")
        if source not in ("products", "events"):
            return back("/admin/quality", problem="Choose products or events to retry.")
        ids = [int(value) for value in form.get("id", []) if value.isdigit()] or None
        result = engine.retry_quarantined("products" if source == "products" else "events", ids)
        notice = (
            f"Retried {result.tried:,} {source} rows: {result.released:,} passed the checks and were "
            f"ingested, {result.still_quarantined:,} still fail"
            + (
                f", {result.not_retryable:,} cannot be read and must be fixed in a file"
                if result.not_retryable
                else ""
            )
            + "."
        )
        target = local_path(first(form, "next", "/admin/quality"), "/admin/quality")
        return back(target, notice=notice)

    # catalog and events ---------------------------------------------------------------------------

    @router.get("/events")
    def events(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop

        def count_results(query: str) -> int:
            try:
                return engine.search(query, page_size=1).total
            except ShelfwiseError:
                return 0

        summary = summarise_events(engine.events_frame(), count_results)
        stats = engine.stats()
        browse = _browse_facets(engine)
        return page(
            request,
            "admin/events.html",
            {
                "stats": stats,
                "summary": summary,
                "per_day": column_chart(
                    [(day, float(n)) for day, n in summary.per_day], title="Events per day"
                ),
                "funnel": bar_chart(
                    [(step.replace("_", " "), float(n)) for step, n in summary.funnel],
                    title="Visitors reaching each step",
                    colour="#7c3aed",
                ),
                "by_category": bar_chart(
                    [(value, float(count)) for value, count in browse["category"]],
                    title="Products per department",
                ),
                "by_price": bar_chart(
                    [(value, float(count)) for value, count in browse["price"]],
                    title="Products per price band",
                    colour="#0891b2",
                ),
            },
        )

    # customer segments ----------------------------------------------------------------------------

    @router.get("/segments")
    def segments(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        try:
            found, missing = engine.segments(), None
        except ShelfwiseError as error:  # not trained yet, or a version without segments
            found, missing = [], str(error)
        colours = ["#2563eb" if s.kind == "rfm" else "#7c3aed" for s in found]
        expected = [s for s in found if s.expected_purchases_per_member is not None]
        return page(
            request,
            "admin/segments.html",
            {
                "segments": found,
                "missing": missing,
                "shoppers": sum(s.size for s in found if s.kind == "rfm"),
                "sizes": bar_chart(
                    [(s.name, float(s.size)) for s in found], title="Shoppers per segment", colours=colours
                ),
                "expected": bar_chart(
                    [(s.name, float(s.expected_purchases_per_member or 0.0)) for s in expected],
                    title="Expected purchases per member",
                    colour="#0891b2",
                    value_format="{:.2f}",
                ),
            },
        )

    # answers --------------------------------------------------------------------------------------

    @router.get("/answers")
    def answers(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        book = engine.answers.book
        per_day = book.unanswered_per_day()
        return page(
            request,
            "admin/answers.html",
            {
                "pairs": book.count(),
                "unanswered": engine.answers.unanswered(100),
                "unanswered_total": sum(n for _, n in per_day),
                "flagged": book.flagged(50),
                "by_check": bar_chart(
                    sorted(
                        ((check, float(n)) for check, n in book.flag_counts().items()), key=lambda c: -c[1]
                    ),
                    title="Pairs flagged by each check",
                    colour="#d97706",
                    empty="No pair was flagged by the quality checks.",
                ),
                "per_day": column_chart(
                    [(day, float(n)) for day, n in per_day], title="Unanswered questions per day"
                ),
            },
        )

    @router.get("/experiments")
    def experiments(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        listing = engine.experiments.all()
        found = [engine.experiments.results(e.experiment_id) for e in reversed(listing) if e.state != "draft"]
        drafts = [e for e in listing if e.state == "draft"]
        return page(request, "admin/experiments.html", {"results": found, "drafts": drafts})

    # audiences ------------------------------------------------------------------------------------

    @router.get("/audiences")
    def audiences(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        view = audience_view(engine, request.query_params)
        values = {"fields": view.fields, "audience": view.audience, "error": view.problem, **view.values}
        values |= uplift_values(engine)
        return page(request, "admin/audiences.html", values, status_code=422 if view.problem else 200)

    @router.get("/audiences.csv")
    def audience_csv(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        fields = {name: request.query_params.get(name, "") for name in ("product_id", "category", "products")}
        fields |= {name: request.query_params.get(name, "") for name in ("size", "exclude_buyers_days")}
        try:
            audience = compute(engine, fields)
        except (ShelfwiseError, ValueError) as error:
            return JSONResponse(
                {"error": {"code": "invalid_request", "message": str(error)}}, status_code=422
            )
        disposition = {"Content-Disposition": 'attachment; filename="audience.csv"'}
        return Response(audience.csv(), media_type="text/csv", headers=disposition)

    # models ---------------------------------------------------------------------------------------

    @router.get("/models")
    def models(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        current = engine.current_version()
        versions = engine.model_versions()
        previous = _rollback_target([m.version for m in versions], current)
        assert web.training is not None
        return page(
            request,
            "admin/models.html",
            {
                "versions": versions,
                "current": current,
                "previous": previous,
                "training": web.training.status.as_dict(),
                "pending_deletions": engine.pending_deletions(),
            },
        )

    @router.post("/models/activate")
    async def activate(request: Request) -> Response:
        form = await posted(request)
        if isinstance(form, Response):
            return form
        version = first(form, "version")
        try:
            engine.activate(version)
        except (KeyError, ShelfwiseError, OSError) as error:
            return back("/admin/models", problem=f"Could not activate {version!r}: {error}")
        return back("/admin/models", notice=f"Now serving {version}.")

    @router.post("/models/train")
    async def train(request: Request) -> Response:
        form = await posted(request)
        if isinstance(form, Response):
            return form
        assert web.training is not None
        started = web.training.start(force=first(form, "force") in ("1", "true", "on"))
        wants_json = "application/json" in request.headers.get("accept", "")
        if wants_json:
            return JSONResponse(web.training.status.as_dict(), status_code=202 if started else 409)
        if not started:
            return back("/admin/models", problem="A training run is already in progress.")
        return back("/admin/models", notice="Training started.")

    @router.get("/models/train/status")
    def train_status(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        assert web.training is not None
        return JSONResponse(web.training.status.as_dict())

    # merchandising rules --------------------------------------------------------------------------

    @router.get("/rules")
    def rules(request: Request, q: str = "") -> Response:
        if (stop := refused(request)) is not None:
            return stop
        return page(request, "admin/rules.html", {"q": q})

    # API keys ---------------------------------------------------------------------------------------

    @router.get("/keys")
    def keys(request: Request) -> Response:
        if (stop := refused(request)) is not None:
            return stop
        return page(request, "admin/keys.html", key_values())

    def key_values(**values: Any) -> dict[str, Any]:
        return {"keys": engine.keys.listing(), "scopes": [s.value for s in Scope], "created": None, **values}

    @router.post("/keys")
    async def create_key(request: Request) -> Response:
        form = await posted(request)
        if isinstance(form, Response):
            return form
        scope = first(form, "scope")
        if scope not in {s.value for s in Scope}:
            return back("/admin/keys", problem=f"Choose a scope: {', '.join(s.value for s in Scope)}.")
        try:
            created, secret = engine.keys.create(first(form, "name"), Scope(scope))
        except ShelfwiseError as error:
            return back("/admin/keys", problem=str(error))
        response = page(request, "admin/keys.html", key_values(created=created, secret=secret), 201)
        response.headers["cache-control"] = "no-store"  # the one page that shows a key
        return response

    @router.post("/keys/revoke")
    async def revoke_key(request: Request) -> Response:
        form = await posted(request)
        if isinstance(form, Response):
            return form
        try:
            revoked = engine.keys.revoke(first(form, "key_id"))
        except ShelfwiseError as error:
            return back("/admin/keys", problem=str(error))
        return back("/admin/keys", notice=f"Revoked {revoked.name} ({revoked.prefix}…).")

    return router


def _browse_facets(engine: Engine) -> dict[str, list[tuple[str, int]]]:
    """The whole catalog's facet counts (category, brand, price band)."""
    try:
        browse = engine.search("", page_size=1)
    except ShelfwiseError:
        return {"category": [], "brand": [], "price": []}
    return {
        name: [(facet.value, facet.count) for facet in browse.facets.get(name, [])]
        for name in ("category", "brand", "price")
    }


def _rollback_target(newest_first: list[str], current: str | None) -> str | None:
    """The version trained just before the serving one: what "roll back" goes to."""
    if current not in newest_first:
        return None
    position = newest_first.index(current) + 1
    return newest_first[position] if position < len(newest_first) else None
