"""Adding the pages to a FastAPI app: storefront, admin, static assets and category pictures."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response

from shelfwise.domain.errors import NotFoundError
from shelfwise.engine import Engine
from shelfwise.web.admin import admin_router
from shelfwise.web.context import WebContext
from shelfwise.web.help_page import help_router
from shelfwise.web.images import (
    DEMO_PICTURES,
    PICTURE_ROUTE,
    PICTURE_TYPES,
    category_svg,
    picture_file,
    valid_slug,
)
from shelfwise.web.security import SecurityHeadersMiddleware
from shelfwise.web.storefront import storefront_router

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PATH = "/assets"
IMAGE_CACHE = "public, max-age=86400"


def mount_web(app: FastAPI, web: WebContext | Engine) -> WebContext:
    """Serve the pages from `app` (kept in `app.state.web`), with the security headers on every response.
    Their scripts call the HTTP API under /v1 with the browser's session, so `app` is expected to serve
    it too and to know the session (`web.browser_caller`; see shelfwise.app)."""
    if isinstance(web, Engine):
        web = WebContext(engine=web)
    app.state.web = web
    app.add_middleware(SecurityHeadersMiddleware)

    @app.get(DEMO_PICTURES + "{slug}.svg", include_in_schema=False)
    def category_picture(slug: str) -> Response:
        """The demo catalog's image_url points here: a drawn picture per category."""
        if not valid_slug(slug):
            return Response(status_code=404)
        return Response(
            category_svg(slug), media_type="image/svg+xml", headers={"cache-control": IMAGE_CACHE}
        )

    @app.get(PICTURE_ROUTE + "{product_id}", include_in_schema=False)
    def product_picture(product_id: str) -> Response:
        """A product's local picture, found by its id under the image root; 404 for anything else."""
        try:
            product = web.engine.get_product(product_id)
        except NotFoundError:
            return Response(status_code=404)
        path = picture_file(product, web.engine.settings.training.images.root)
        if path is None:
            return Response(status_code=404)
        media_type = PICTURE_TYPES[path.suffix.lower()]
        return FileResponse(path, media_type=media_type, headers={"cache-control": IMAGE_CACHE})

    app.mount(ASSETS_PATH, StaticFiles(directory=STATIC_DIR), name="web-assets")
    app.include_router(storefront_router(web))
    app.include_router(help_router(web))
    app.include_router(admin_router(web))
    return web
