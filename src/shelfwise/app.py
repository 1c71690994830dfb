"""The whole site as one ASGI app: the HTTP API under /v1 with the storefront and admin pages beside it.

The API (shelfwise.api) and the pages (shelfwise.web) never import each other; this module composes them.
The pages' scripts call the API with the browser's signed session instead of a key (a shopper's session
is a storefront caller naming only itself, a logged-in admin's an admin caller), so the API here also
asks the pages who a browser is. Behind a reverse proxy, `security.trusted_proxies` names the proxies
whose X-Forwarded-Proto/For are believed (https cookies, per-address log-in limits).

    uvicorn --factory shelfwise.app:create_app    # configured by SHELFWISE_* variables
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from shelfwise.api import create_api
from shelfwise.engine import Engine
from shelfwise.settings import Settings
from shelfwise.threads import apply_thread_limits
from shelfwise.web import ADMIN_COOKIE, SHOP_COOKIE, WebContext, mount_web


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    """The API and the pages over `engine`; without one, over an engine opened with `settings` (by
    default read from the environment), which is how `uvicorn --factory` calls it: that process is a
    server, so its math libraries get the serving thread limits first."""
    if engine is None:
        settings = settings or Settings()
        apply_thread_limits(settings.threads, "serving")
        engine = Engine(settings)
    elif settings is not None:
        raise ValueError("pass an engine or the settings to open one with, not both")
    web = WebContext(engine=engine)
    app = create_api(engine, browser=web.browser_caller, browser_cookies=(SHOP_COOKIE, ADMIN_COOKIE))
    mount_web(app, web)
    proxies = engine.settings.security.trusted_proxies
    if proxies:  # outermost, so that everything inside sees the client's scheme and address
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(proxies))
    return app


def serve(engine: Engine, host: str | None = None, port: int | None = None) -> None:
    """Serve the site under uvicorn until interrupted; host and port default to the engine's settings.
    The process's math libraries get the serving thread limits (see shelfwise.threads)."""
    apply_thread_limits(engine.settings.threads, "serving")
    uvicorn.run(
        create_app(engine),
        host=host or engine.settings.host,
        port=port or engine.settings.port,
        log_level="info",
        proxy_headers=False,  # the app applies them itself, from the proxies its settings trust
    )
