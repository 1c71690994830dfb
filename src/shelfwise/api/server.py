"""Running the API under uvicorn, configured by SHELFWISE_* variables (`--factory` entry point)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from shelfwise.api.app import create_app
from shelfwise.engine import Engine
from shelfwise.settings import Settings


def app_from_settings() -> FastAPI:
    return create_app(Engine(Settings()))


def serve(engine: Engine, host: str | None = None, port: int | None = None) -> None:
    uvicorn.run(
        create_app(engine),
        host=host or engine.settings.host,
        port=port or engine.settings.port,
        log_level="info",
    )
