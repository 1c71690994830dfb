"""The HTTP API: a thin FastAPI surface over `shelfwise.engine.Engine`."""

from shelfwise.api.app import create_api

__all__ = ["create_api"]
