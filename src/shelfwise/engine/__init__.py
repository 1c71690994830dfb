"""The one facade over every layer: `Engine.open(url)` … `search`, `recommend`, `record`, `train`."""

from shelfwise.engine.engine import Engine

__all__ = ["Engine"]
