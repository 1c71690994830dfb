"""The one facade over every layer: `Engine.open(url)` … `search`, `recommend`, `record`, `train`."""

from shelfwise.engine.engine import Engine
from shelfwise.engine.errors import InvalidRequestError, NotFoundError, NotTrainedError, ShelfwiseError

__all__ = ["Engine", "InvalidRequestError", "NotFoundError", "NotTrainedError", "ShelfwiseError"]
