"""The whole site as one ASGI app: the HTTP API under /v1 with the storefront and admin pages beside it.

The API (shelfwise.api) and the pages (shelfwise.web) never import each other; this module composes them.
The pages' scripts call the API, and the admin pages log a browser in with a cookie, so the API here also
accepts the admin key from that cookie.

    uvicorn --factory shelfwise.app:create_app    # configured by SHELFWISE_* variables
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shelfwise.api import create_api
from shelfwise.engine import Engine
from shelfwise.settings import Settings
from shelfwise.threads import apply_thread_limits
from shelfwise.web import ADMIN_COOKIE, mount_web


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
    app = create_api(engine, admin_cookie=ADMIN_COOKIE)
    mount_web(app, engine)
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
    )
