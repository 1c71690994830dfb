"""The HTTP API: a thin FastAPI surface over `shelfwise.engine.Engine`."""

from shelfwise.api.app import create_app

__all__ = ["create_app"]
